"""Episodes on disk: one JSON object per line (``Episode.to_dict()``), UTF-8. Format: ``docs/data-format.md``.

Reading validates every line and names the culprit as ``file.jsonl:LINE: what was expected``; blank lines are
skipped; a file without any episode is an error. Writing is atomic: a temporary file in the destination's
directory is filled, flushed, fsync'ed and moved over the destination with ``os.replace``, so a crash or a bad
episode never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from lexiq.data.episode import Episode, EpisodeFormatError, episode_from_dict, validate_episode


def iter_episodes(path: str | os.PathLike) -> Iterator[Episode]:
    """Yield the episodes of a JSONL file one by one (validated; errors name ``file:line``)."""
    name = str(path)
    count = 0
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{name}:{lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise EpisodeFormatError(
                    f"{where}: malformed JSON ({err.msg} at column {err.colno}); expected one episode object "
                    f"per line") from None
            yield episode_from_dict(record, where)
            count += 1
    if count == 0:
        raise EpisodeFormatError(f"{name}: empty file: expected one JSON episode object per line")


def read_episodes(path: str | os.PathLike) -> list[Episode]:
    """All episodes of a JSONL file (see :func:`iter_episodes`)."""
    return list(iter_episodes(path))


def write_episodes(path: str | os.PathLike, episodes: Iterable[Episode]) -> int:
    """Write ``episodes`` as JSONL, atomically; returns the number written.

    Every episode is validated (``episode i: ...`` errors; the destination is then left untouched); the parent
    directory is created if needed.
    Floats are written with ``repr`` precision, so ``read_episodes(write_episodes(p, eps))`` is exact.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for i, ep in enumerate(episodes):
                fh.write(_episode_line(ep, f"episode {i}"))
                count += 1
            if count == 0:
                raise EpisodeFormatError(f"{dest}: no episodes to write (an empty file cannot be read back)")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(dest))
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return count


def _file_mode(dest: Path) -> int:
    """Permissions for the new file: the old file's, else ``0o666 & ~umask`` (mkstemp would give 0o600)."""
    try:
        return dest.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _episode_line(ep: Episode, where: str) -> str:
    if not isinstance(ep, Episode):
        raise EpisodeFormatError(f"{where}: expected an Episode, got {type(ep).__name__}")
    validate_episode(ep, where)
    try:
        return json.dumps(ep.to_dict(), ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as err:
        raise EpisodeFormatError(f"{where}: cannot be written as JSON ({err})") from None


__all__ = ["iter_episodes", "read_episodes", "write_episodes"]
