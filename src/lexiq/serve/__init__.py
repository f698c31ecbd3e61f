"""Environments as services: serve any lexiq text environment over HTTP + JSON, and use a served one anywhere.

* ``lexiq env serve wordle --port 8765`` (:mod:`lexiq.serve.cli`, :func:`lexiq.serve.app.create_app`): sessions,
  reset, step, episode and close over HTTP, with per-session locks, idle-session eviction, strict request
  validation and JSON errors.
* :class:`lexiq.envs.remote.RemoteEnv` (also ``lexiq.envs.make("remote", url=...)``): a drop-in text
  environment backed by such a server, with retries and timeouts.

The server needs the ``serve`` extra (``pip install 'lexiq[serve]'``: FastAPI, uvicorn, httpx); nothing here is
imported by ``import lexiq``. Endpoints, errors and examples: ``docs/serving.md``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RemoteEnv"]


def __getattr__(name: str) -> Any:
    if name == "RemoteEnv":
        from lexiq.envs.remote import RemoteEnv

        return RemoteEnv
    raise AttributeError(f"module 'lexiq.serve' has no attribute {name!r}")
