"""download / load / stats by name: file:// URLs through the real urllib path, the mirror copy, atomic writes."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import pytest

from lexiq.data.loaders import registry
from lexiq.data.loaders.fetch import DownloadError
from lexiq.data.loaders.registry import DATASETS, DataFile, download, load, locate, stats


def _patch_files(monkeypatch, name: str, files: list[DataFile]) -> None:
    monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name], files=tuple(files)))


def _ids(episodes):
    return [e.meta["conversation_id"] for e in episodes]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_registry_lists_the_upstream_files():
    assert list(DATASETS) == ["taskmaster4", "taskmaster4_reward", "taskmaster3", "taskmaster3_reward", "abcd",
                              "abcd_sample", "sgd", "multiwoz22", "gsm8k", "gsm8k_chat"]
    tm4 = DATASETS["taskmaster4"].files
    assert [f.path for f in tm4] == [f"TM-4-2024/data/data_{i:02d}.json" for i in range(8)]
    assert tm4[0].url == ("https://raw.githubusercontent.com/google-research-datasets/Taskmaster/master/"
                          "TM-4-2024/data/data_00.json")
    assert len(DATASETS["taskmaster4_reward"].files) == 7 and len(DATASETS["taskmaster3_reward"].files) == 8
    assert len(DATASETS["taskmaster3"].files) == 20
    abcd = DATASETS["abcd"].files[0]
    assert (abcd.path, abcd.url, abcd.gunzip) == (
        "abcd_v1.1.json", "https://raw.githubusercontent.com/asappresearch/abcd/master/data/abcd_v1.1.json.gz", True)
    assert [f.path for f in DATASETS["sgd"].files] == ["dev/dialogues_001.json", "dev/dialogues_002.json",
                                                       "dev/schema.json"]
    assert len(DATASETS["multiwoz22"].files) == 17 + 2 + 2 + 1
    assert [f.url for f in DATASETS["gsm8k"].files] == [
        f"https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/{n}.jsonl"
        for n in ("train", "test")]
    with pytest.raises(ValueError) as info:
        load("tm4")
    assert str(info.value).startswith("unknown data set 'tm4'; expected one of taskmaster4, taskmaster4_reward, ")


def test_load_from_root_accepts_a_data_folder_or_the_upstream_folder(fixtures):
    assert _ids(load("taskmaster4", "all", root=fixtures)) == ["dlg-a1", "dlg-b2", "dlg-c3"]
    assert _ids(load("taskmaster4", "train", root=fixtures / "taskmaster")) == ["dlg-a1", "dlg-b2"]
    assert _ids(load("taskmaster3_reward", "all", root=fixtures)) == ["dlg-s1", "dlg-s2"]
    assert _ids(load("abcd", "dev", root=fixtures)) == [201]
    assert _ids(load("abcd_sample", "sample", root=fixtures)) == [7]
    assert _ids(load("sgd", "all", root=fixtures)) == ["1_00001", "1_00000"]
    assert _ids(load("multiwoz22", "test", root=fixtures)) == ["SNG0003.json"]


def test_load_without_data_says_how_to_download(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load("taskmaster4", cache_dir=tmp_path)
    assert str(info.value) == (f"data set 'taskmaster4' is not in the cache {tmp_path}; "
                               "run `lexiq data download taskmaster4` first")


def test_download_from_file_urls_then_load_from_the_cache(monkeypatch, tmp_path, fixtures):
    src = fixtures / "taskmaster" / "TM-4-2024" / "reward"
    _patch_files(monkeypatch, "taskmaster4_reward", [
        DataFile(f"TM-4-2024/reward/{n}", (src / n).as_uri()) for n in ("reward_00.json", "reward_01.json")])
    cache = tmp_path / "cache"
    folder = download("taskmaster4_reward", cache_dir=cache)
    assert folder == cache / "taskmaster"
    for n in ("reward_00.json", "reward_01.json"):
        assert (folder / "TM-4-2024" / "reward" / n).read_bytes() == (src / n).read_bytes()
    assert _leftovers(cache) == ["reward_00.json", "reward_01.json"]
    assert locate("taskmaster4_reward", cache_dir=cache) == folder
    assert _ids(load("taskmaster4_reward", "test", cache_dir=cache)) == ["dlg-r3"]
    # files already present are not fetched again (these URLs would fail)
    gone = tmp_path / "gone"
    _patch_files(monkeypatch, "taskmaster4_reward", [
        DataFile(f"TM-4-2024/reward/{n}", (gone / n).as_uri()) for n in ("reward_00.json", "reward_01.json")])
    assert download("taskmaster4_reward", cache_dir=cache) == folder


def test_default_cache_is_under_lexiq_cache(monkeypatch, tmp_path, fixtures):
    monkeypatch.setenv("LEXIQ_CACHE", str(tmp_path / "c"))
    _patch_files(monkeypatch, "abcd_sample", [DataFile("abcd_sample.json", (fixtures / "abcd" / "abcd_sample.json")
                                                       .as_uri())])
    assert download("abcd_sample") == tmp_path / "c" / "data" / "abcd"
    assert _ids(load("abcd_sample", "all")) == [7]


def test_gzip_url_is_stored_decompressed(monkeypatch, tmp_path, fixtures):
    raw = (fixtures / "abcd" / "abcd_v1.1.json").read_bytes()
    gz = tmp_path / "abcd_v1.1.json.gz"
    gz.write_bytes(gzip.compress(raw))
    _patch_files(monkeypatch, "abcd", [DataFile("abcd_v1.1.json", gz.as_uri(), gunzip=True)])
    folder = download("abcd", cache_dir=tmp_path / "cache")
    assert (folder / "abcd_v1.1.json").read_bytes() == raw
    assert _ids(load("abcd", "train", cache_dir=tmp_path / "cache")) == [101, 102]


def test_failed_fetch_leaves_no_partial_file(monkeypatch, tmp_path, fixtures):
    good = fixtures / "abcd" / "abcd_sample.json"
    truncated = tmp_path / "broken.json.gz"
    truncated.write_bytes(gzip.compress(good.read_bytes() * 50)[:300])  # a gzip stream cut off mid-way
    _patch_files(monkeypatch, "abcd", [DataFile("abcd_v1.1.json", truncated.as_uri(), gunzip=True)])
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        download("abcd", cache_dir=cache)
    message = str(info.value)
    assert message.startswith(f"could not download {truncated.as_uri()}: ") and "\n" not in message
    assert _leftovers(cache) == []
    # a missing URL: the first file lands complete, the second leaves nothing behind
    missing = (tmp_path / "nope.json").as_uri()
    _patch_files(monkeypatch, "abcd_sample", [DataFile("abcd_sample.json", good.as_uri()),
                                              DataFile("other.json", missing)])
    with pytest.raises(DownloadError) as info:
        download("abcd_sample", cache_dir=cache)
    assert str(info.value).startswith(f"could not download {missing}: ")
    assert _leftovers(cache) == ["abcd_sample.json"]
    with pytest.raises(FileNotFoundError, match="run `lexiq data download abcd_sample` first"):
        load("abcd_sample", "all", cache_dir=cache)  # incomplete in the cache: not used


def test_mirror_copy_and_mirror_fallback(monkeypatch, tmp_path, fixtures):
    _patch_files(monkeypatch, "taskmaster4", [
        DataFile(f"TM-4-2024/data/data_0{i}.json", f"https://invalid.example/data_0{i}.json") for i in range(2)])
    monkeypatch.setenv("LEXIQ_DATA_MIRROR", str(fixtures))
    cache = tmp_path / "cache"
    # not downloaded yet: load reads the mirror directly
    assert locate("taskmaster4", cache_dir=cache) == fixtures / "taskmaster"
    assert _ids(load("taskmaster4", "all", cache_dir=cache)) == ["dlg-a1", "dlg-b2", "dlg-c3"]
    folder = download("taskmaster4", cache_dir=cache)  # copies, never touches the (invalid) URLs
    assert _leftovers(cache) == ["data_00.json", "data_01.json"]
    assert locate("taskmaster4", cache_dir=cache) == folder == cache / "taskmaster"
    # a file the mirror lacks is a one-line error naming it
    monkeypatch.setenv("LEXIQ_DATA_MIRROR", str(tmp_path / "empty-mirror"))
    with pytest.raises(DownloadError) as info:
        download("abcd_sample", cache_dir=cache)
    assert str(info.value) == f"{tmp_path / 'empty-mirror' / 'abcd' / 'abcd_sample.json'}: not in the data mirror " \
                              "(LEXIQ_DATA_MIRROR)"
    with pytest.raises(FileNotFoundError) as info:
        load("abcd_sample", cache_dir=cache)
    assert str(info.value) == (f"data set 'abcd_sample' is not in the cache {cache} or the mirror "
                               f"{tmp_path / 'empty-mirror'}; run `lexiq data download abcd_sample` first")


def test_stats_on_fixtures(fixtures):
    assert stats("taskmaster4", root=fixtures) == {
        "dataset": "taskmaster4", "source": str(fixtures / "taskmaster"), "conversations": 4, "episodes": 3,
        "splits": {"train": 2, "test": 1}, "skipped": 1, "turns": 14, "agent_turns": 7, "api_calls": 3,
        "api_responses": 3, "calls_without_request": 1, "unparsed_api_payloads": 1}
    rewards = stats("taskmaster4_reward", root=fixtures)
    assert {k: v for k, v in rewards.items() if k not in ("dataset", "source")} == {
        "records": 4, "episodes": 4, "splits": {"train": 3, "test": 1}, "skipped": 0, "turns": 14, "agent_turns": 4,
        "api_calls": 4, "api_responses": 2, "positive": 2, "negative": 2, "api_call_generations": 2,
        "api_call_generations_positive": 1, "text_generations": 2, "text_generations_positive": 1,
        "empty_contexts": 1}
    assert stats("abcd", root=fixtures)["splits"] == {"train": 2, "validation": 1, "test": 1}
    assert stats("abcd_sample", root=fixtures)["splits"] == {"sample": 1}


def test_registry_module_does_not_touch_the_network_when_loading(monkeypatch, fixtures):
    def no_network(*args, **kwargs):
        raise AssertionError("load must not fetch")

    monkeypatch.setattr(registry, "fetch_url", no_network)
    monkeypatch.setenv("LEXIQ_DATA_MIRROR", str(fixtures))
    assert _ids(load("abcd_sample", "sample")) == [7]  # the fixture folder holds every file abcd_sample lists
