"""Where lexiq places a model it loads for generation or evaluation.

Training places models through ``accelerate`` (:mod:`lexiq.train`); loading a saved policy, a reward model or the
MiniLM encoder for evaluation uses :func:`default_device`: the ``LEXIQ_DEVICE`` environment variable when set
(``cpu``, ``cuda``, ``cuda:1``, ``mps``), else the GPU when torch sees one, else the CPU.
"""

from __future__ import annotations

import os


def default_device() -> str:
    """``$LEXIQ_DEVICE`` if set, else ``"cuda"`` when a CUDA device is available, else ``"cpu"``."""
    chosen = os.environ.get("LEXIQ_DEVICE", "").strip()
    if chosen:
        return chosen
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
