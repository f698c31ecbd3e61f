"""Request bodies of the environment server, read by :func:`read_body`: whatever the Content-Type, the body must be
one JSON object (else 400 ``invalid_json``) whose fields have exactly the declared types (else 422
``invalid_request``; nothing is coerced, unknown fields are refused)."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lexiq.serve.errors import ApiError, validation_detail

B = TypeVar("B", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class CreateSession(_Body):
    """``POST /sessions``: the environment's keyword arguments and an optional seed of its random generator."""

    env_options: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = Field(default=None, ge=0)


class Reset(_Body):
    """``POST /sessions/{id}/reset``: Gymnasium's ``reset(seed=..., options=...)``."""

    seed: int | None = Field(default=None, ge=0)
    options: dict[str, Any] | None = None
    return_episode: bool = False


class Step(_Body):
    """``POST /sessions/{id}/step``: one action. ``step_index`` (actions taken since the reset, 0 for the first)
    makes a retried step safe: the same index and action again returns the first answer instead of stepping twice."""

    action: str
    step_index: int | None = Field(default=None, ge=0)
    return_episode: bool = False


async def read_body(request: Request, model: type[B], required: bool = True) -> B:
    """The request's body as ``model``; an empty body is ``model()`` when not ``required``."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError(422, "invalid_request", f"empty body: expected a JSON object with the fields of "
                                                   f"{model.__name__} ({', '.join(model.model_fields)})")
        return model()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise ApiError(*validation_detail(list(exc.errors()))) from None
