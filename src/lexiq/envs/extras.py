"""Optional third-party environments (TextWorld, NetHack) and the error raised when their extra is missing."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError, ValueError):
    """An environment needs an optional extra that is not installed (one line: what to pip install).

    It is also a ValueError, so configuration checks that turn bad environment options into one-line errors
    (``lexiq.run.make_env_factory``, ``lexiq env serve``) report it the same way."""


def require(module: str, extra: str, requirement: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``pip install 'lexiq[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"the {extra} environment needs the optional extra: pip install 'lexiq[{extra}]' "
                                f"({requirement}; import {module} failed: {exc})") from None
