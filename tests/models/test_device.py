"""Where evaluation loads its models: $LEXIQ_DEVICE, else the GPU when there is one, else the CPU."""

import pytest
import torch

from lexiq.config import ConfigError
from lexiq.models.device import default_device


def test_default_device_follows_the_environment_then_the_hardware(monkeypatch):
    monkeypatch.setenv("LEXIQ_DEVICE", "cuda:1")
    assert default_device() == "cuda:1"
    monkeypatch.delenv("LEXIQ_DEVICE")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == "cuda"
    monkeypatch.setenv("LEXIQ_DEVICE", "gpu")
    with pytest.raises(ConfigError, match="LEXIQ_DEVICE=gpu: expected a torch device"):
        default_device()
