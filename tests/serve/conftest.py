"""Servers on free loopback ports for the serving tests (skipped without the serve extra)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from lexiq.serve.app import create_app  # noqa: E402
from lexiq.serve.config import ServeConfig  # noqa: E402
from lexiq.serve.server import ServerThread  # noqa: E402


@pytest.fixture(scope="module")
def wordle_app():
    return create_app(ServeConfig(env="wordle"))


@pytest.fixture(scope="module")
def wordle_url(wordle_app):
    with ServerThread(wordle_app) as url:
        yield url
