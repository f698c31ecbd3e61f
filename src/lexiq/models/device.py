"""Where lexiq places a model it loads for generation or evaluation.

Training places models through ``accelerate`` (:mod:`lexiq.train`); loading a saved policy, a reward model or the
MiniLM encoder for evaluation uses :func:`default_device`: the ``LEXIQ_DEVICE`` environment variable when set
(``cpu``, ``cuda``, ``cuda:1``, ``mps``), else the GPU when torch sees one, else the CPU.
"""

from __future__ import annotations

import os


def default_device() -> str:
    """``$LEXIQ_DEVICE`` if set (one-line ConfigError if torch does not know it), else ``"cuda"`` when a CUDA
    device is available, else ``"cpu"``."""
    import torch

    chosen = os.environ.get("LEXIQ_DEVICE", "").strip()
    if chosen:
        try:
            torch.device(chosen)
        except RuntimeError:
            from lexiq.config import ConfigError

            raise ConfigError(f"LEXIQ_DEVICE={chosen}: expected a torch device such as cpu, cuda, cuda:1 "
                              "or mps") from None
        return chosen

    return "cuda" if torch.cuda.is_available() else "cpu"
