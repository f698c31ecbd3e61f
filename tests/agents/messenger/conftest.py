"""Fixtures of the Messenger agent tests: sentence tables over the built-in template manuals (no data folder
needed), tiny EMMA sizes and a few recorded expert demonstrations."""

from __future__ import annotations

import pytest
import torch

from lexiq.agents.messenger.demos import Demos, record_demos
from lexiq.agents.messenger.emma import EmmaConfig
from lexiq.agents.messenger.text_encoder import SentenceTable, messenger_table


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread (and give the same numbers on every machine size)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tiny(layers: int = 1, **kw: object) -> EmmaConfig:
    return EmmaConfig(**{"entity_layers": layers, "embed_dim": 8, "conv_channels": 4, "hidden": 16, "word_dim": 8,
                         **kw})


@pytest.fixture(scope="session")
def tiny():
    """``tiny(layers=1, **sizes)``: an EMMA configuration small enough for unit tests."""
    return _tiny


@pytest.fixture(scope="session")
def table1() -> SentenceTable:
    return messenger_table(1, "template")


@pytest.fixture(scope="session")
def table2() -> SentenceTable:
    return messenger_table(2, "template")


@pytest.fixture(scope="session")
def demos2() -> tuple[Demos, Demos]:
    """Stage-2 expert demonstrations: 24 training and 8 validation episodes (template manuals)."""
    return (record_demos(2, "train-mc", 24, seed=0, manual="template"),
            record_demos(2, "val", 8, seed=0, manual="template"))
