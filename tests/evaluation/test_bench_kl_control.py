"""The KL-control benchmark end to end on the hand-written Taskmaster-4 fixtures with a toy budget (the real
numbers live in docs/benchmarks.md), and its reward and reply statistics by hand."""

import json
from pathlib import Path

import pytest

from lexiq.config import ConfigError
from lexiq.evaluation.bench_kl_control import METHODS, REPORTED, run_kl_control_benchmark, score_replies
from lexiq.evaluation.chat_metrics import distinct_n, reply_statistics
from lexiq.rewards.exchange import Exchange

FIXTURES = Path(__file__).parents[1] / "data" / "loaders" / "fixtures"
TOY = {"train_conversations": None, "test_replies": 4, "prior_steps": 2, "rl_steps": 2, "max_prompt_tokens": 60,
       "max_new_tokens": 4, "rewards": ["question"], "weights": [2.0],
       "prior_overrides": ["model.path=tiny", "model.n_positions=96"]}
RUNS = ["data.max_length=64", "train.batch_size=4", "train.progress=false", "train.report_to=[]"]


def test_bench_kl_control_writes_the_table_and_reuses_its_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("LEXIQ_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "bench"
    result = run_kl_control_benchmark(str(out), quick=True, root=str(FIXTURES), overrides=RUNS, mode_overrides=TOY)
    saved = json.loads((out / "results.json").read_text())
    assert list(saved["methods"]) == list(METHODS)
    for name, entry in saved["methods"].items():
        assert list(entry) == list(REPORTED), name
        assert all(entry[m]["stderr"] >= 0 for m in REPORTED)
    # the prior against itself: KL exactly 0; the Q rows moved away from it
    assert saved["methods"]["prior"]["kl_to_prior"]["mean"] == pytest.approx(0.0, abs=1e-6)
    for name in ("batch_q", "psi", "kl_control", "kl_psi_mc", "model_avg"):
        assert saved["methods"][name]["kl_to_prior"]["mean"] > 0.0, name
    # training data: one episode per agent reply, reward = 2 × question(reply)
    for line in (out / "data" / "train.jsonl").read_text().splitlines():
        reply = json.loads(line)["turns"][-1]
        words = set(reply["text"].lower().replace("?", " ").split())
        expected = 0.5 * ("?" in reply["text"]) + 0.5 * bool(words & {"who", "what", "why", "where", "how", "when"})
        assert reply["reward"] == pytest.approx(2.0 * expected)
    # model averaging trains against both priors
    avg = (out / "model_avg_seed0" / "config.yaml").read_text()
    assert "prior_seed0/policy" in avg and "prior_b_seed0/policy" in avg
    assert (out / "results.png").stat().st_size > 0
    assert all(f"| {m} " in (out / "results.md").read_text() for m in METHODS)
    stamps = {p: p.stat().st_mtime_ns for p in [*out.glob("*_seed0/results.json"), *out.glob("*/chat_eval/*")]}
    assert len(stamps) == 7 + 6 * 2
    again = run_kl_control_benchmark(str(out), quick=True, root=str(FIXTURES), overrides=RUNS, mode_overrides=TOY)
    assert again["methods"] == result["methods"]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_bench_kl_control_runs_a_subset_of_rows_in_parallel(tmp_path, monkeypatch):
    monkeypatch.setenv("LEXIQ_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "subset"
    result = run_kl_control_benchmark(str(out), quick=True, root=str(FIXTURES), overrides=RUNS, mode_overrides=TOY,
                                      methods=["kl_control"], jobs=2)
    assert list(result["methods"]) == ["prior", "kl_control"]
    assert sorted(p.name for p in out.glob("*_seed0")) == ["kl_control_seed0", "prior_seed0"]  # no second prior
    assert result["methods"]["kl_control"]["kl_to_prior"]["mean"] > 0.0
    with pytest.raises(ConfigError, match="--methods: expected at least one"):
        run_kl_control_benchmark(str(out), quick=True, root=str(FIXTURES), mode_overrides=TOY, methods=[])
    with pytest.raises(ConfigError, match="--methods nope"):
        run_kl_control_benchmark(str(out), quick=True, root=str(FIXTURES), mode_overrides=TOY, methods=["nope"])


def test_reply_scores_and_statistics_by_hand():
    ex = Exchange(previous_user="I want a latte", bot="logged", next_user="yes", done=False, chat_id="c", index=0)
    assert score_replies([ex, ex], ["What size?", "Sure."], ["question"], [1.0]) == [1.0, 0.0]
    assert distinct_n(["a b a", "b c"], 1) == pytest.approx(3 / 5)
    assert distinct_n(["a b a", "b c"], 2) == pytest.approx(3 / 3)
    stats = reply_statistics(["What size?", "ok", "Which one? hot or iced"])
    assert stats["question_rate"]["mean"] == pytest.approx(2 / 3)
    assert stats["mean_length"]["mean"] == pytest.approx((2 + 1 + 5) / 3)
    assert stats["distinct_1"]["stderr"] >= 0.0
