"""The dialogue benchmark pipeline end to end on the hand-written Taskmaster-4 fixtures and a toy budget (the real
numbers live in docs/benchmarks.md)."""

import json
from pathlib import Path

import pytest

from lexiq.evaluation.bench_dialogue import METHODS, run_dialogue_benchmark

FIXTURES = Path(__file__).parents[1] / "data" / "loaders" / "fixtures"
TOY = {"train_conversations": None, "candidate_replies": 3, "validation_replies": 4, "test_replies": 3,
       "n_candidates": 2, "tf_steps": 2, "rl_steps": 2, "max_prompt_tokens": 64, "max_new_tokens": 4,
       "reward_model": {"path": "tiny", "tokenizer": "bytes", "steps": 2}, "ilql_betas": [2.0]}
POLICY = ["model.path=tiny", "model.n_positions=96", "data.max_length=96", "train.batch_size=4",
          "train.progress=false", "train.report_to=[]"]


def test_bench_dialogue_writes_the_table_and_reuses_its_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("LEXIQ_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "bench"
    # the overrides reach every policy; the tf_top/dt/ilql runs start from the TF model, so they keep its size
    result = run_dialogue_benchmark(str(out), quick=True, root=str(FIXTURES), overrides=POLICY[2:],
                                    mode_overrides=TOY | {"tf_overrides": POLICY}, metrics=("chrf", "rouge_l"))
    saved = json.loads((out / "results.json").read_text())
    assert saved["methods"].keys() == set(METHODS)
    for name, entry in saved["methods"].items():
        assert {"reward_model_score", "chrf", "rouge_l"} <= entry.keys(), name
        for metric in ("reward_model_score", "chrf", "rouge_l"):
            assert 0.0 <= entry[metric]["mean"] <= 1.0 and entry[metric]["stderr"] >= 0.0
    assert saved["methods"]["ilql"]["betas"] == [2.0]
    # one-step offline RL data: per sampled training reply, the gold (reward 1) and 2 scored candidates
    rl = (out / "data" / "offline_rl_seed0.jsonl").read_text().splitlines()
    assert len(rl) == 3 * 3
    assert saved["candidates"]["seed0"]["n"] == 2
    # the TF-gold control trains like TF-top on the gold replies alone: the reward-1 golds of the same file
    golds = [json.loads(line)["turns"] for line in (out / "data" / "candidate_golds.jsonl").read_text().splitlines()]
    assert golds == [json.loads(line)["turns"] for line in rl if json.loads(line)["meta"]["candidate"] == 0]
    # the fixture has no validation conversation: no checkpoint selection, the last step is the saved one
    assert saved["dataset"]["validation_replies"] == 0
    assert saved["methods"]["dt"]["selected_steps"] == saved["methods"]["dt"]["steps"] == [2]
    table = (out / "results.md").read_text()
    assert all(f"| {m} " in table for m in METHODS)
    # ILQL as a reranker: the TF model's greedy reply and n_candidates - 1 beams, sorted by the ILQL values
    rerank = json.loads((out / "ilql_seed0" / "rerank_eval" / "summary.json").read_text())
    assert rerank["candidates"] == 2 and rerank["reranked_by"]["kind"] == "v"
    assert saved["methods"]["ilql_rerank"]["chrf"]["mean"] == pytest.approx(rerank["metrics"]["chrf"]["top1"]["mean"])
    stamps = {p: p.stat().st_mtime_ns for p in [*out.glob("*_seed0/results.json"), *out.glob("*/dialogue_eval/*"),
                                                 *out.glob("*/rerank_eval/*"),
                                                 out / "reward_model" / "results.json",
                                                 out / "data" / "offline_rl_seed0.jsonl"]}
    assert len(stamps) == 5 + 6 * 3 + 2
    again = run_dialogue_benchmark(str(out), quick=True, root=str(FIXTURES), overrides=POLICY[2:],
                                   mode_overrides=TOY | {"tf_overrides": POLICY}, metrics=("chrf", "rouge_l"))
    assert again["methods"] == result["methods"]
    # every run, candidate file and evaluation was reused, not redone (identical numbers alone would not show it)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_unknown_dataset():
    from lexiq.config import ConfigError

    with pytest.raises(ConfigError, match="--dataset abcd: expected one of taskmaster4, taskmaster3"):
        run_dialogue_benchmark("unused", dataset="abcd")


def test_bench_dialogue_checks_seeds_and_reward_model_first(tmp_path):
    from lexiq.config import ConfigError

    with pytest.raises(ConfigError, match="--seeds 0: expected at least 1"):
        run_dialogue_benchmark(str(tmp_path / "b"), quick=True, root=str(FIXTURES), seeds=0)
    with pytest.raises(ConfigError, match="--jobs 0: expected at least 1"):
        run_dialogue_benchmark(str(tmp_path / "b"), quick=True, root=str(FIXTURES), jobs=0)
    with pytest.raises(ConfigError, match="--reward-model .*: not a lexiq reward model directory"):
        run_dialogue_benchmark(str(tmp_path / "b"), quick=True, root=str(FIXTURES), reward_model=str(tmp_path))
    assert not (tmp_path / "b").exists()


def test_continued_runs_train_equal_epochs_over_their_own_data(tmp_path):
    """TF-top sees only the reward-1 replies, DT and ILQL all of them: with rl_epochs each takes
    ceil(epochs × its episodes / batch size) steps; a fixed rl_steps overrides that."""
    from lexiq.data.episode import Episode, Turn
    from lexiq.data.jsonl import write_episodes
    from lexiq.evaluation.bench_dialogue import _rl_steps

    path = tmp_path / "rl.jsonl"
    rewards = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0] * 10  # 20 of 60 one-step episodes reach return 1
    write_episodes(path, [Episode([Turn("environment", "hi"), Turn("agent", "hello", reward=r)]) for r in rewards])
    mode = {"rl_epochs": 2.0}
    batch = ["train.batch_size=8"]
    assert _rl_steps(mode, "tf_top", path, batch) == 5  # ceil(2 × 20 / 8)
    assert _rl_steps(mode, "dt", path, batch) == 15  # 2 × 60 / 8
    assert _rl_steps(mode, "ilql", path, batch) == 15
    assert _rl_steps({"rl_steps": 7, "rl_epochs": 2.0}, "dt", path, batch) == 7


def test_selected_runs_keep_their_best_validation_loss(tmp_path):
    """TF-gold, TF-top and DT evaluate the validation replies' loss select_evaluations times and keep the best
    weights (Sodhi et al. A.7/A.8); ILQL does not; without validation replies nobody selects."""
    from lexiq.data.episode import Episode, Turn
    from lexiq.data.jsonl import write_episodes
    from lexiq.evaluation.bench_dialogue import _continued_jobs

    data = tmp_path / "data"
    data.mkdir()
    rewards = [1.0, 0.0, 0.0] * 20
    write_episodes(data / "offline_rl_seed0.jsonl",
                   [Episode([Turn("environment", "hi"), Turn("agent", "hello", reward=r)]) for r in rewards])
    gold = Episode([Turn("environment", "hi"), Turn("agent", "hi", 1.0)])
    write_episodes(data / "candidate_golds.jsonl", [gold] * 20)
    mode = {"rl_epochs": 2.0, "select_evaluations": 4}
    val = data / "validation_golds.jsonl"
    jobs = {j.label: j.config for j in _continued_jobs(mode, tmp_path, 1, ["train.batch_size=8"], val)}
    assert set(jobs) == {"tf_gold_seed0", "tf_top_seed0", "dt_seed0", "ilql_seed0"}
    assert jobs["dt_seed0"]["train"]["max_steps"] == 15 and jobs["dt_seed0"]["train"]["eval_every"] == 4
    assert jobs["tf_top_seed0"]["train"]["max_steps"] == 5 and jobs["tf_top_seed0"]["train"]["eval_every"] == 2
    for name in ("tf_gold_seed0", "tf_top_seed0", "dt_seed0"):
        assert jobs[name]["data"]["validation"] == str(val), name
        assert jobs[name]["train"]["best_metric"] == "validation/losses/bc", name
        assert jobs[name]["model"]["path"] == str(tmp_path / "tf_seed0" / "policy"), name
    assert not jobs["ilql_seed0"]["train"].get("best_metric")
    plain = _continued_jobs(mode, tmp_path, 1, ["train.batch_size=8"], None)
    assert not any(j.config["train"].get("best_metric") for j in plain)


def test_pretrained_mode_starts_tf_from_a_local_model_with_the_paper_windows(tmp_path, monkeypatch):
    import yaml

    from lexiq.config import ConfigError
    from lexiq.models.byte_tokenizer import byte_tokenizer
    from lexiq.models.presets import ModelConfig, build_model

    monkeypatch.setenv("LEXIQ_CACHE", str(tmp_path / "cache"))
    tok = byte_tokenizer()
    base = tmp_path / "base"
    build_model(ModelConfig(path="tiny", tokenizer="bytes", arch="llama", n_positions=160), tok).save_pretrained(
        base, tokenizer=tok)
    out = tmp_path / "bench"
    toy = {k: v for k, v in TOY.items() if k not in ("max_prompt_tokens", "max_new_tokens")} | {"seeds": 1}
    result = run_dialogue_benchmark(str(out), root=str(FIXTURES), pretrained=str(base), mode_overrides=toy,
                                    overrides=["train.batch_size=4", "train.progress=false", "train.report_to=[]"],
                                    metrics=("chrf",))
    assert result["pretrained"] == str(base) and result["methods"].keys() == set(METHODS)
    assert (result["mode"]["max_prompt_tokens"], result["mode"]["max_new_tokens"]) == (96, 32)  # spec A.4
    tf = yaml.safe_load((out / "tf_seed0" / "config.yaml").read_text())
    assert tf["model"]["path"] == str(base) and tf["model"]["tokenizer"] is None
    assert tf["data"]["max_length"] == 128 and tf["train"]["lr"] == 1e-4
    dt = yaml.safe_load((out / "dt_seed0" / "config.yaml").read_text())
    assert dt["model"]["path"] == str(out / "tf_seed0" / "policy") and dt["data"]["max_length"] == 128
    assert "TF from" in (out / "results.md").read_text()
    with pytest.raises(ConfigError, match="--quick and --pretrained"):
        run_dialogue_benchmark(str(tmp_path / "x"), quick=True, pretrained=str(base))
    with pytest.raises(ConfigError, match="--pretrained .*no_such_model: model directory does not exist") as err:
        run_dialogue_benchmark(str(tmp_path / "y"), pretrained=str(tmp_path / "no_such_model"))
    assert "\n" not in str(err.value) and not (tmp_path / "y").exists()
