"""Benchmark runs: a finished run is reused, an interrupted one resumes, another configuration is refused, and
runs trained in worker processes give the results of runs trained in this one."""

import json
import shutil

import pytest

import lexiq.evaluation.bench_runs as bench_runs
from lexiq.config import ConfigError, apply_overrides, load_yaml
from lexiq.data.jsonl import write_episodes
from lexiq.envs.wordle.datasets import generate_dataset
from lexiq.evaluation.bench_runs import TrainJob, run_jobs


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "mixed.jsonl"
    write_episodes(path, generate_dataset("mixed", 24, seed=5))
    return path


def _job(data_file, out, *extra, objective="ilql"):
    config = load_yaml(f"configs/wordle/{objective}.yaml")
    apply_overrides(config, [f"data.train={data_file}", f"train.output_dir={out}", "model.path=tiny",
                             "train.max_steps=4", "train.batch_size=8", "train.log_every=1", "train.progress=false",
                             "train.report_to=[]", "eval.env=null", *extra])
    return TrainJob(objective, config, label=out.name)


def _logged_steps(out):
    return [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_finished_run_is_reused_not_retrained(tmp_path, data_file):
    out = tmp_path / "ilql_seed0"
    first = run_jobs([_job(data_file, out)], log=lambda _: None)[0]
    stamp = (out / "results.json").stat().st_mtime_ns
    lines: list[str] = []
    again = run_jobs([_job(data_file, out)], log=lines.append)[0]
    assert again == first
    assert (out / "results.json").stat().st_mtime_ns == stamp
    assert len(lines) == 1 and "reusing" in lines[0]
    assert not (out / "checkpoints").exists()  # removed once the run had finished


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path, data_file, monkeypatch):
    straight = run_jobs([_job(data_file, tmp_path / "straight")], log=lambda _: None)[0]
    out = tmp_path / "killed"
    # a run that got to step 4 with a checkpoint at step 2 and was killed before writing results.json
    monkeypatch.setattr(bench_runs.shutil, "rmtree", lambda *a, **k: None)
    run_jobs([_job(data_file, out)], save_every=2, log=lambda _: None)
    monkeypatch.undo()
    (out / "results.json").unlink()
    shutil.rmtree(out / "checkpoints" / "step_4")
    resumed = run_jobs([_job(data_file, out)], save_every=2, log=lambda _: None)[0]
    assert resumed["resumed_from"].endswith("step_2")
    assert _logged_steps(out) == [1, 2, 3, 4]
    assert resumed["final_metrics"]["losses/total"] == pytest.approx(straight["final_metrics"]["losses/total"],
                                                                     rel=1e-6)
    assert not (out / "checkpoints").exists()


def test_run_directory_of_another_configuration_is_refused(tmp_path, data_file):
    out = tmp_path / "ilql_seed0"
    run_jobs([_job(data_file, out)], log=lambda _: None)
    with pytest.raises(ConfigError, match="ilql_seed0: holds a run with another configuration"):
        run_jobs([_job(data_file, out, "train.lr=0.01")], log=lambda _: None)
    # settings that do not change the result are not compared
    lines: list[str] = []
    run_jobs([_job(data_file, out, "train.progress=true")], log=lines.append)
    assert "reusing" in lines[0]


def test_run_saved_before_a_new_config_field_is_reused(tmp_path, data_file):
    """A field added to lexiq later (absent from the saved config.yaml) counts as its default; a saved value that
    differs from the wanted one still refuses the directory."""
    import yaml

    out = tmp_path / "ilql_seed0"
    run_jobs([_job(data_file, out)], log=lambda _: None)
    saved = yaml.safe_load((out / "config.yaml").read_text())
    del saved["decoding"]["return_guidance"]
    (out / "config.yaml").write_text(yaml.safe_dump(saved))
    lines: list[str] = []
    run_jobs([_job(data_file, out)], log=lines.append)
    assert "reusing" in lines[0]
    with pytest.raises(ConfigError, match="another configuration"):
        run_jobs([_job(data_file, out, "decoding.return_guidance=1.0")], log=lambda _: None)


def test_worker_processes_give_the_same_runs(tmp_path, data_file):
    jobs = lambda root: [_job(data_file, root / "ilql", "train.seed=1"),  # noqa: E731
                         _job(data_file, root / "bc", "train.seed=2", objective="bc")]
    here = run_jobs(jobs(tmp_path / "here"), log=lambda _: None)
    pooled = run_jobs(jobs(tmp_path / "pool"), workers=2, log=lambda _: None)
    assert [r["objective"] for r in pooled] == ["ilql", "bc"]
    for a, b in zip(here, pooled, strict=True):
        for key, value in a["final_metrics"].items():
            if not key.startswith("charts/"):
                assert b["final_metrics"][key] == pytest.approx(value, rel=1e-4), key
    with pytest.raises(ConfigError, match="--jobs 0"):
        run_jobs(jobs(tmp_path / "none"), workers=0)


def test_bench_mode_and_json_safe():
    quick, full = {"seeds": 1, "overrides": ["a=1"]}, {"seeds": 3}
    mode, seeds, overrides = bench_runs.bench_mode(quick, full, True, {"steps": 5}, None, 1, ["a=2"])
    assert mode == {"seeds": 1, "overrides": ["a=1"], "steps": 5} and seeds == 1
    assert overrides == ["a=1", "a=2"]  # the user's override comes last and wins
    assert bench_runs.bench_mode(quick, full, False, None, 2, 1, None)[1:] == (2, [])
    with pytest.raises(ConfigError, match="--seeds 0: expected at least 1"):
        bench_runs.bench_mode(quick, full, True, None, 0, 1, None)
    with pytest.raises(ConfigError, match="--jobs 0: expected at least 1"):
        bench_runs.bench_mode(quick, full, True, None, None, 0, None)
    assert bench_runs.json_safe({"a": [1.0, float("nan")], "b": {"c": float("inf"), "d": "x"}}) == {
        "a": [1.0, None], "b": {"c": None, "d": "x"}}


def test_parallel_calls_keep_the_order_of_the_calls():
    import operator

    calls = [(2, 5), (3, 2), (10, 0)]
    assert bench_runs.parallel_calls(operator.pow, calls) == [32, 9, 1]
    seen = []
    pooled = bench_runs.parallel_calls(operator.pow, calls, workers=2, done=lambda k, r: seen.append((k, r)))
    assert pooled == [32, 9, 1]
    assert seen == [(0, 32), (1, 9), (2, 1)]
    with pytest.raises(ConfigError, match="--jobs 0"):
        bench_runs.parallel_calls(operator.pow, calls, workers=0)


def test_write_results_writes_strict_json_and_the_table(tmp_path):
    (tmp_path / "results.json").write_text("old")
    bench_runs.write_results(tmp_path, {"methods": {"bc": {"return": float("nan")}}, "n": 3}, "| table |\n")
    assert json.loads((tmp_path / "results.json").read_text()) == {"methods": {"bc": {"return": None}}, "n": 3}
    assert (tmp_path / "results.md").read_text() == "| table |\n"
    assert not (tmp_path / "results.json.tmp").exists()
    assert "torch threads" in bench_runs.machine_description()
