"""Environments served over HTTP by ``lexiq env serve`` (:mod:`lexiq.serve`), used through :class:`RemoteEnv`, a
drop-in lexiq text environment (also ``lexiq.envs.make("remote", url=...)``)."""

from lexiq.envs.remote.client import RemoteEnv

__all__ = ["RemoteEnv"]
