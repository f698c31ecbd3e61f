"""Backbones, value/Q heads and the lexiq checkpoint layout."""

from lexiq.models.heads import ILQLHeads
from lexiq.models.model import HeadsConfig, LexiqModel, ModelLoadError

__all__ = ["ILQLHeads", "HeadsConfig", "LexiqModel", "ModelLoadError"]
