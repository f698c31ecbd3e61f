"""The environment server: any registered lexiq text environment over HTTP + JSON (FastAPI).

Endpoints (request and answer bodies are JSON objects; ``docs/serving.md`` has examples):

    GET    /health                        {"status": "ok", "sessions": n}
    GET    /info                          the served environment, its default options and the server's limits
    POST   /sessions                      {"env_options": {...}, "seed": s} -> 201 {"session_id", spaces, ...}
    POST   /sessions/{id}/reset           {"seed": s, "options": {...}} -> {"observation", "info", ...}
    POST   /sessions/{id}/step            {"action": "crane", "step_index": k} -> {"observation", "reward",
                                          "terminated", "truncated", "info", "step_index"}
    GET    /sessions/{id}/episode         the session's Episode (Episode.to_dict())
    DELETE /sessions/{id}                 close the session

Requests of one session run one at a time (a lock each); sessions run in parallel, and all environment work runs
in worker threads, never on the event loop. Idle sessions are evicted after ``session_timeout``. Every failure is a
JSON error answer for that request only (:mod:`lexiq.serve.errors`); the server keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lexiq.envs.remote.wire import episode_to_wire, jsonable, space_to_wire
from lexiq.serve.config import ServeConfig
from lexiq.serve.errors import ApiError, exception_text, install_error_handlers
from lexiq.serve.limits import BodySizeLimit
from lexiq.serve.schema import CreateSession, Reset, Step, read_body
from lexiq.serve.sessions import Session, SessionStore, StoreFullError, UnknownSessionError

ENDPOINTS = ("GET /health", "GET /info", "POST /sessions", "POST /sessions/{id}/reset", "POST /sessions/{id}/step",
             "GET /sessions/{id}/episode", "DELETE /sessions/{id}")


def build_env(name: str, options: dict[str, Any], seed: int | None = None) -> Any:
    """``lexiq.envs.make(name, **options)``, reset once with ``seed`` if one is given (seeds its generator)."""
    from lexiq.envs import make

    env = make(name, **options)
    if seed is not None:
        env.reset(seed=seed)
    return env


def _env_call(what: str, fn: Callable[[], Any]) -> Any:
    """Run an environment call, turning what it raises into the matching JSON error (with the env's words)."""
    try:
        return fn()
    except ApiError:
        raise
    except (ValueError, TypeError) as exc:
        raise ApiError(422, "env_rejected", f"{what} rejected the request: {exception_text(exc)}") from None
    except RuntimeError as exc:
        raise ApiError(409, "env_state", f"{what} refused: {exception_text(exc)}") from None
    except Exception as exc:
        raise ApiError(500, "env_error", f"{what} raised {exception_text(exc)}") from None


def _close_env(session: Session) -> None:
    """Close a session's environment (once; what ``close`` raises is ignored: the session is gone anyway)."""
    env, session.env = session.env, None
    if env is not None:
        with contextlib.suppress(Exception):
            env.close()


def create_app(config: ServeConfig) -> FastAPI:
    """The ASGI app serving ``config.env``. Builds one environment first, so a bad name or option fails here."""
    probe = build_env(config.env, dict(config.env_options))
    spaces = {"observation_space": space_to_wire(probe.observation_space),
              "action_space": space_to_wire(probe.action_space)}
    probe.close()
    store = SessionStore(config.session_timeout, config.max_sessions)
    sweep_every = min(5.0, max(0.05, config.session_timeout / 4))

    async def sweep() -> None:
        while True:
            await asyncio.sleep(sweep_every)
            for session in store.pop_expired():
                await run_in_threadpool(_close_env, session)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(sweep())
        try:
            yield
        finally:
            task.cancel()
            for session in store.pop_all():
                _close_env(session)

    app = FastAPI(title=f"lexiq environment server: {config.env}", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.config = config
    app.state.store = store
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)

    async def with_session(sid: str, work: Callable[[Session], Any]) -> Any:
        """Run ``work(session)`` in a worker thread while holding the session's lock."""
        try:
            session = store.get(sid)
        except UnknownSessionError as exc:
            raise ApiError(404, "unknown_session", str(exc)) from None
        session.busy += 1
        try:
            async with session.lock:
                if session.env is None:  # closed while this request waited for the lock
                    raise ApiError(404, "unknown_session", f"session {sid!r} was closed")
                return await run_in_threadpool(work, session)
        finally:
            session.busy -= 1
            session.last_used = store.clock()

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "sessions": len(store)})

    @app.get("/info")
    async def info() -> JSONResponse:
        return JSONResponse({"env": config.env, "env_options": jsonable(config.env_options),
                             "allow_client_options": config.allow_client_options, **spaces,
                             "session_timeout": config.session_timeout, "max_sessions": config.max_sessions,
                             "max_body_bytes": config.max_body_bytes, "sessions": len(store),
                             "endpoints": list(ENDPOINTS)})

    @app.post("/sessions", status_code=201)
    async def create_session(request: Request) -> JSONResponse:
        body = await read_body(request, CreateSession, required=False)
        if body.env_options and not config.allow_client_options:
            raise ApiError(422, "invalid_request", "this server does not let sessions set env_options "
                                                   f"(it serves {config.env} with {config.env_options})")
        options = {**config.env_options, **body.env_options}
        if len(store) >= store.max_sessions:
            for session in store.pop_expired():
                _close_env(session)
        if len(store) >= store.max_sessions:
            raise ApiError(503, "server_full", f"the server already holds {store.max_sessions} open sessions "
                                               "(max_sessions); close one or wait until an idle one expires")
        env = await run_in_threadpool(_env_call, f"{config.env} with env_options {options}",
                                      lambda: build_env(config.env, options, body.seed))
        try:
            session, evicted = store.add(env)
        except StoreFullError as exc:
            env.close()
            raise ApiError(503, "server_full", str(exc)) from None
        for old in evicted:
            _close_env(old)
        return JSONResponse({"session_id": session.id, "env": config.env, "env_options": jsonable(options),
                             "observation_space": space_to_wire(env.observation_space),
                             "action_space": space_to_wire(env.action_space),
                             "session_timeout": config.session_timeout}, status_code=201)

    @app.post("/sessions/{sid}/reset")
    async def reset(sid: str, request: Request) -> JSONResponse:
        body = await read_body(request, Reset, required=False)

        def work(session: Session) -> dict[str, Any]:
            obs, info = _env_call(f"{config.env}.reset",
                                  lambda: session.env.reset(seed=body.seed, options=body.options))
            session.steps, session.last_step = 0, None
            session.episodes += 1
            out = {"observation": jsonable(obs), "info": jsonable(info), "episode_index": session.episodes - 1}
            if body.return_episode:
                out["episode"] = episode_to_wire(session.env.episode())
            return out

        return JSONResponse(await with_session(sid, work))

    @app.post("/sessions/{sid}/step")
    async def step(sid: str, request: Request) -> JSONResponse:
        body = await read_body(request, Step)
        def work(session: Session) -> dict[str, Any]:
            k = body.step_index
            last = session.last_step
            if k is not None and last is not None and (k, body.action) == last[:2] and k == session.steps - 1:
                out = dict(last[2], replayed=True)  # a retried step: answer it again, do not step twice
            else:
                if k is not None and k != session.steps:
                    raise ApiError(409, "step_conflict", f"step_index {k} is out of turn: the session has taken "
                                                         f"{session.steps} actions since its last reset")
                obs, reward, terminated, truncated, info = _env_call(f"{config.env}.step",
                                                                     lambda: session.env.step(body.action))
                session.steps += 1
                out = {"observation": jsonable(obs), "reward": float(reward), "terminated": bool(terminated),
                       "truncated": bool(truncated), "info": jsonable(info), "step_index": session.steps - 1}
                session.last_step = (session.steps - 1, body.action, out)
            if body.return_episode:
                out = dict(out, episode=episode_to_wire(session.env.episode()))
            return out

        return JSONResponse(await with_session(sid, work))

    @app.get("/sessions/{sid}/episode")
    async def episode(sid: str) -> JSONResponse:
        return JSONResponse(await with_session(sid, lambda s: episode_to_wire(
            _env_call(f"{config.env}.episode", s.env.episode))))

    @app.delete("/sessions/{sid}")
    async def close(sid: str) -> JSONResponse:
        try:
            session = store.pop(sid)
        except UnknownSessionError as exc:
            raise ApiError(404, "unknown_session", str(exc)) from None
        async with session.lock:  # let a request in flight finish first
            await run_in_threadpool(_close_env, session)
        return JSONResponse({"closed": sid})

    return app

