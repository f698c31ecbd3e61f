"""The data sets lexiq knows by name: where they come from, how to fetch them, how to load them.

=====================  ===============================================  ==========================================
name                   what                                             upstream
=====================  ===============================================  ==========================================
``taskmaster4``        Taskmaster-4 coffee-ordering dialogues           google-research-datasets/Taskmaster
``taskmaster4_reward`` TM-4 human-labelled next-turn candidates         same (released with PERL, arXiv 2403.10704)
``taskmaster3``        Taskmaster-3 movie-ticket dialogues              same (arXiv 2012.12458)
``taskmaster3_reward`` TM-3 human-labelled next-turn candidates         same
``abcd``               ABCD full release (train/dev/test)               asappresearch/abcd (arXiv 2104.00783)
``abcd_sample``        the 3-conversation ABCD sample                   same
``sgd``                Schema-Guided Dialogue, dev split only           google-research-datasets/dstc8-schema-...
``multiwoz22``         MultiWOZ 2.2                                     budzianowski/multiwoz
``gsm8k``              GSM8K math word problems (reference prompt)      openai/grade-school-math
``gsm8k_chat``         GSM8K, bare question as the user message         same
=====================  ===============================================  ==========================================

A *data folder* holds one sub-folder per upstream repository (``taskmaster/``, ``abcd/``, ``sgd/``,
``multiwoz/``, ``gsm8k/``) laid out like the repository (``taskmaster/TM-4-2024/data/data_00.json``; ABCD and
GSM8K keep their files at the top of ``abcd/`` and ``gsm8k/``, and ``abcd_v1.1.json`` is stored gunzipped). The
shared mirror (``LEXIQ_DATA_MIRROR``) and the cache (``$LEXIQ_CACHE/data`` or ``~/.cache/lexiq/data``) are data
folders.

* :func:`download` puts a data set's files into the cache: copied from ``LEXIQ_DATA_MIRROR`` when it is set,
  otherwise fetched from the upstream URLs; files already there are not fetched again.
* :func:`load` reads a split from ``root`` (a data folder, or the upstream repository folder itself), else from
  the cache, else straight from the mirror. It never touches the network.
* :func:`stats` counts what a load of ``split="all"`` gives (see ``docs/datasets.md`` for the mirror's numbers).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from lexiq.data.episode import Episode
from lexiq.data.loaders.abcd import read_abcd
from lexiq.data.loaders.common import LoadResult
from lexiq.data.loaders.fetch import copy_file, fetch_url
from lexiq.data.loaders.gsm8k import read_gsm8k
from lexiq.data.loaders.render import API_CALL, API_RESPONSE
from lexiq.data.loaders.sgd import read_multiwoz22, read_schema_dialogues
from lexiq.data.loaders.splits import ALL, SPLITS
from lexiq.data.loaders.taskmaster import read_taskmaster_dialogs, read_taskmaster_rewards

MIRROR_ENV = "LEXIQ_DATA_MIRROR"
CACHE_ENV = "LEXIQ_CACHE"

_TM = "https://raw.githubusercontent.com/google-research-datasets/Taskmaster/master/"
_ABCD = "https://raw.githubusercontent.com/asappresearch/abcd/master/data/"
_SGD = "https://raw.githubusercontent.com/google-research-datasets/dstc8-schema-guided-dialogue/master/"
_MWOZ = "https://raw.githubusercontent.com/budzianowski/multiwoz/master/"
_GSM8K = "https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/"


@dataclass(frozen=True)
class DataFile:
    """One upstream file: its path inside the data set's folder, its URL, whether the URL serves gzip."""

    path: str
    url: str
    gunzip: bool = False


@dataclass(frozen=True)
class DatasetInfo:
    """A named data set: ``reader(folder, split) -> LoadResult`` reads ``data_folder/folder``."""

    name: str
    folder: str
    files: tuple[DataFile, ...]
    reader: Callable[[Path, str], LoadResult]
    kind: str
    """``"dialogues"`` (whole conversations), ``"rewards"`` (one-step episodes with a reward) or ``"problems"``
    (prompt and reference solution, one-step episodes)."""
    homepage: str
    licence: str
    description: str


def _numbered(base_url: str, pattern: str, numbers: range) -> tuple[DataFile, ...]:
    return tuple(DataFile(pattern.format(n), base_url + pattern.format(n)) for n in numbers)


def _mwoz_files() -> tuple[DataFile, ...]:
    counts = {"train": 17, "dev": 2, "test": 2}
    paths = [f"data/MultiWOZ_2.2/{s}/dialogues_{n:03d}.json" for s, k in counts.items() for n in range(1, k + 1)]
    paths.append("data/MultiWOZ_2.2/schema.json")
    return tuple(DataFile(p, _MWOZ + p) for p in paths)


def _taskmaster_reader(read: Callable[..., LoadResult], version: int) -> Callable[[Path, str], LoadResult]:
    def reader(root: Path, split: str) -> LoadResult:
        return read(root, version, split)

    return reader


# only the dev files of the mirror (upstream dev has dialogues_001-020, train 001-127, test 001-034)
_SGD_FILES = (*_numbered(_SGD, "dev/dialogues_{:03d}.json", range(1, 3)), DataFile("dev/schema.json",
                                                                                    _SGD + "dev/schema.json"))
_GSM8K_FILES = tuple(DataFile(f, _GSM8K + f) for f in ("train.jsonl", "test.jsonl"))
_TM_HOME = "https://github.com/google-research-datasets/Taskmaster"
_ABCD_HOME = "https://github.com/asappresearch/abcd"

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("taskmaster4", "taskmaster", _numbered(_TM, "TM-4-2024/data/data_{:02d}.json", range(8)),
                    _taskmaster_reader(read_taskmaster_dialogs, 4), "dialogues", _TM_HOME, "CC BY 4.0",
                    "Taskmaster-4 coffee-ordering dialogues with API calls"),
        DatasetInfo("taskmaster4_reward", "taskmaster",
                    _numbered(_TM, "TM-4-2024/reward/reward_{:02d}.json", range(7)),
                    _taskmaster_reader(read_taskmaster_rewards, 4), "rewards", _TM_HOME, "CC BY 4.0",
                    "Taskmaster-4 human-labelled next-turn candidates (one-step episodes)"),
        DatasetInfo("taskmaster3", "taskmaster", _numbered(_TM, "TM-3-2020/data/data_{:02d}.json", range(20)),
                    _taskmaster_reader(read_taskmaster_dialogs, 3), "dialogues", _TM_HOME, "CC BY 4.0",
                    "Taskmaster-3 (TicketTalk) movie-ticket dialogues with API calls"),
        DatasetInfo("taskmaster3_reward", "taskmaster",
                    _numbered(_TM, "TM-3-2020/reward/reward_{:02d}.json", range(8)),
                    _taskmaster_reader(read_taskmaster_rewards, 3), "rewards", _TM_HOME, "CC BY 4.0",
                    "Taskmaster-3 human-labelled next-turn candidates (one-step episodes)"),
        DatasetInfo("abcd", "abcd", (DataFile("abcd_v1.1.json", _ABCD + "abcd_v1.1.json.gz", gunzip=True),),
                    read_abcd, "dialogues", _ABCD_HOME, "MIT", "ABCD customer-service dialogues, full release"),
        DatasetInfo("abcd_sample", "abcd", (DataFile("abcd_sample.json", _ABCD + "abcd_sample.json"),),
                    partial(read_abcd, sample=True), "dialogues", _ABCD_HOME, "MIT",
                    "ABCD sample (3 conversations, split 'sample')"),
        DatasetInfo("sgd", "sgd", _SGD_FILES, partial(read_schema_dialogues, dataset="sgd"), "dialogues",
                    "https://github.com/google-research-datasets/dstc8-schema-guided-dialogue", "CC BY-SA 4.0",
                    "Schema-Guided Dialogue, dev files 001-002 (a clone passed as root gives every split)"),
        DatasetInfo("multiwoz22", "multiwoz", _mwoz_files(), read_multiwoz22, "dialogues",
                    "https://github.com/budzianowski/multiwoz", "MIT (repository licence)",
                    "MultiWOZ 2.2 (train/dev/test)"),
        DatasetInfo("gsm8k", "gsm8k", _GSM8K_FILES, read_gsm8k, "problems",
                    "https://github.com/openai/grade-school-math", "MIT",
                    "GSM8K math word problems, prompt 'QUESTION: ...\\n\\nSOLUTION:' (train/validation/test)"),
        DatasetInfo("gsm8k_chat", "gsm8k", _GSM8K_FILES, partial(read_gsm8k, chat=True), "problems",
                    "https://github.com/openai/grade-school-math", "MIT",
                    "GSM8K with the bare question as the user message (for data.format: chat_template)"),
    )
}


def dataset_names() -> list[str]:
    return list(DATASETS)


def get_dataset(name: str) -> DatasetInfo:
    """The registry entry of ``name``; a one-line ValueError listing the known names otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown data set {name!r}; expected one of {', '.join(DATASETS)}") from None


def default_cache_dir() -> Path:
    """``$LEXIQ_CACHE/data`` if ``LEXIQ_CACHE`` is set, else ``~/.cache/lexiq/data``."""
    base = os.environ.get(CACHE_ENV)
    return Path(base) / "data" if base else Path.home() / ".cache" / "lexiq" / "data"


def mirror_dir() -> Path | None:
    """The data folder named by ``LEXIQ_DATA_MIRROR``, or None when the variable is unset or empty."""
    value = os.environ.get(MIRROR_ENV)
    return Path(value) if value else None


def _complete(info: DatasetInfo, data_folder: Path) -> bool:
    return all((data_folder / info.folder / f.path).is_file() for f in info.files)


def download(name: str, cache_dir: str | Path | None = None) -> Path:
    """Put every file of ``name`` into the cache and return the data set's folder there.

    With ``LEXIQ_DATA_MIRROR`` set the files are copied from that data folder (a missing file is a one-line
    error naming it); otherwise they are fetched from the upstream URLs. Files already present are kept.
    Every file is written atomically: a failure leaves no partial file.
    """
    info = get_dataset(name)
    target = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / info.folder
    mirror = mirror_dir()
    for f in info.files:
        dest = target / f.path
        if dest.is_file():
            continue
        if mirror is not None:
            copy_file(mirror / info.folder / f.path, dest)
        else:
            fetch_url(f.url, dest, gunzip=f.gunzip)
    return target


def locate(name: str, root: str | Path | None = None, cache_dir: str | Path | None = None) -> Path:
    """The folder :func:`load` reads ``name`` from (``root``, else the cache, else the mirror); no network.

    ``root`` may be a data folder (``root/<folder>`` is used when it exists) or the upstream folder itself.
    """
    info = get_dataset(name)
    if root is not None:
        root = Path(root)
        return root / info.folder if (root / info.folder).is_dir() else root
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if _complete(info, cache):
        return cache / info.folder
    mirror = mirror_dir()
    if mirror is not None and _complete(info, mirror):
        return mirror / info.folder
    where = f"the cache {cache}" + (f" or the mirror {mirror}" if mirror is not None else "")
    raise FileNotFoundError(f"data set {name!r} is not in {where}; run `lexiq data download {name}` first")


def load(name: str, split: str = "train", root: str | Path | None = None, *,
         cache_dir: str | Path | None = None) -> list[Episode]:
    """The episodes of one split of ``name`` (``train``, ``validation``/``dev``, ``test``, ``all``; ABCD's sample:
    ``sample``/``all``), read from ``root``, else the cache, else ``LEXIQ_DATA_MIRROR``. No network access."""
    info = get_dataset(name)
    return info.reader(locate(name, root, cache_dir), split).episodes


def stats(name: str, root: str | Path | None = None, *, cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Counts over every split of ``name``, to check a copy against ``docs/datasets.md``.

    Keys: ``dataset``, ``source``, ``conversations`` (dialogues) or ``records`` (reward files) read,
    ``episodes``, ``splits`` (episodes per split), ``skipped`` (conversations without an agent turn), ``turns``,
    ``agent_turns``, ``api_calls`` and ``api_responses`` (turns with speaker ``api_call`` / ``api``), loader
    counters (``unparsed_api_payloads``, ``calls_without_request``) and, for reward files, ``positive``
    (reward > 0), ``negative`` (reward ≤ 0), ``api_call_generations`` (+ ``_positive``), ``text_generations``
    (+ ``_positive``) and ``empty_contexts``.
    """
    info = get_dataset(name)
    folder = locate(name, root, cache_dir)
    result = info.reader(folder, ALL)
    eps = result.episodes
    split_counts = Counter(str(e.meta.get("split")) for e in eps)
    order = [s for s in (*SPLITS, "sample") if s in split_counts] + sorted(set(split_counts) - {*SPLITS, "sample"})
    speakers = Counter(t.speaker for e in eps for t in e.turns)
    out: dict[str, Any] = {
        "dataset": name,
        "source": str(folder),
        ("conversations" if info.kind == "dialogues" else "records"): result.read,
        "episodes": len(eps),
        "splits": {s: split_counts[s] for s in order},
        "skipped": len(result.skipped),
        "turns": sum(len(e.turns) for e in eps),
        "agent_turns": sum(1 for e in eps for t in e.turns if t.role == "agent"),
        "api_calls": speakers[API_CALL],
        "api_responses": speakers[API_RESPONSE],
    }
    out.update(sorted(result.counts.items()))
    if info.kind == "rewards":
        actions = [e.turns[-1] for e in eps]
        api = [t for t in actions if t.speaker == API_CALL]
        text = [t for t in actions if t.speaker != API_CALL]
        out.update({
            "positive": sum(1 for t in actions if (t.reward or 0.0) > 0),
            "negative": sum(1 for t in actions if (t.reward or 0.0) <= 0),
            "api_call_generations": len(api),
            "api_call_generations_positive": sum(1 for t in api if (t.reward or 0.0) > 0),
            "text_generations": len(text),
            "text_generations_positive": sum(1 for t in text if (t.reward or 0.0) > 0),
            "empty_contexts": sum(1 for e in eps if len(e.turns) == 1),
        })
    return out
