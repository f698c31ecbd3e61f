"""`lexiq eval dialogue`: greedy + beam candidates, top-k tables that match the CSV, reward-model score."""

import csv
import json

import pytest

from lexiq.cli import main
from lexiq.data.episode import Episode, Turn
from lexiq.data.jsonl import write_episodes
from lexiq.data.token_mdp import EpisodeFormat
from lexiq.models.presets import ModelConfig, build_model, load_tokenizer
from lexiq.models.reward_model import RewardModel, build_backbone


@pytest.fixture
def setup(tmp_path):
    tok = load_tokenizer(ModelConfig(path="tiny"))
    model = build_model(ModelConfig(path="tiny", n_positions=64), tok)
    model.meta["episode_format"] = EpisodeFormat.wordle().to_dict()
    model.save_pretrained(tmp_path / "policy", tokenizer=tok)
    rm = RewardModel(build_backbone(ModelConfig(path="tiny"), tok),
                     meta={"episode_format": EpisodeFormat.wordle().to_dict()})
    rm.save_pretrained(tmp_path / "rm", tokenizer=tok)
    convs = [Episode([Turn("environment", "ab"), Turn("agent", "cd", 0.0), Turn("environment", "ef"),
                      Turn("agent", "gh", 0.0)]), Episode([Turn("environment", "xy"), Turn("agent", "zz", 0.0)])]
    write_episodes(tmp_path / "test.jsonl", convs)
    return tmp_path


def test_eval_dialogue_writes_consistent_tables(setup, capsys):
    out = setup / "eval"
    assert main(["eval", "dialogue", "--model", str(setup / "policy"), "--data", str(setup / "test.jsonl"),
                 "--out", str(out), "--metrics", "chrf,rouge_l", "--beams", "2", "--max-new-tokens", "3",
                 "--reward-model", str(setup / "rm")]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(capsys.readouterr().out)
    assert summary["n"] == 3 and summary["candidates"] == 3
    with open(out / "predictions.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 3 and table[0]["true_response"] == "cd"
    for metric in ("chrf", "rouge_l"):
        # top-1 is the mean of the greedy column; top-3 the mean of each row's best of three
        first = [float(r[f"{metric}_1"]) for r in table]
        best = [max(float(r[f"{metric}_{i}"]) for i in (1, 2, 3)) for r in table]
        assert summary["metrics"][metric]["top1"]["mean"] == pytest.approx(sum(first) / 3)
        assert summary["metrics"][metric]["top3"]["mean"] == pytest.approx(sum(best) / 3)
    # an untrained reward head scores every reply σ(0) = 0.5
    assert summary["reward_model_score"]["mean"] == pytest.approx(0.5)
    assert [float(r["reward_model_1"]) for r in table] == pytest.approx([0.5] * 3)
    assert (out / "summary.md").read_text().count("| chrf |") == 1


def test_eval_dialogue_rejects_unknown_metrics(setup, capsys):
    assert main(["eval", "dialogue", "--model", str(setup / "policy"), "--data", str(setup / "test.jsonl"),
                 "--out", str(setup / "x"), "--metrics", "bleu,cider"]) == 2
    assert "expected a comma-separated subset" in capsys.readouterr().err
    assert not (setup / "x").exists()


@pytest.mark.parametrize("flags, needle", [
    (["--limit", "0"], "--limit 0: expected at least 1"),
    (["--beams", "-1"], "--beams -1: expected at least 0"),
    (["--batch-size", "0"], "--batch-size 0: expected at least 1"),
])
def test_eval_dialogue_bad_sizes_are_one_line_errors(setup, capsys, flags, needle):
    assert main(["eval", "dialogue", "--model", str(setup / "policy"), "--data", str(setup / "test.jsonl"),
                 "--out", str(setup / "x"), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert not (setup / "x").exists()


def test_a_missing_reward_model_is_refused_before_any_generation(setup, capsys):
    assert main(["data", "candidates", "--model", str(setup / "policy"), "--data", str(setup / "test.jsonl"),
                 "--out", str(setup / "c.jsonl"), "--reward", "model:" + str(setup / "nowhere")]) == 2
    assert "is not a lexiq reward model directory" in capsys.readouterr().err
    assert not (setup / "c.jsonl").exists()


def test_rerank_with_a_value_model_sorts_candidates_by_its_values(setup, capsys):
    import torch

    from lexiq.evaluation.candidates import value_scores
    from lexiq.models.model import HeadsConfig
    from lexiq.run import load_policy

    torch.manual_seed(3)
    tok = load_tokenizer(ModelConfig(path="tiny"))
    critic = build_model(ModelConfig(path="tiny", n_positions=64), tok)
    critic.add_heads(HeadsConfig())
    critic.meta["episode_format"] = EpisodeFormat.wordle().to_dict()
    critic.save_pretrained(setup / "critic", tokenizer=tok)
    flags = ["--model", str(setup / "policy"), "--data", str(setup / "test.jsonl"), "--metrics", "chrf",
             "--beams", "3", "--max-new-tokens", "3"]
    assert main(["eval", "dialogue", *flags, "--out", str(setup / "plain")]) == 0
    assert main(["eval", "dialogue", *flags, "--out", str(setup / "reranked"), "--rerank-with",
                 str(setup / "critic")]) == 0
    capsys.readouterr()

    def table(name):
        with open(setup / name / "predictions.csv", newline="") as fh:
            return list(csv.DictReader(fh))

    plain, reranked = table("plain"), table("reranked")
    model, tok2, fmt = load_policy(str(setup / "critic"))
    convs = [[Turn("environment", "ab")], [Turn("environment", "ab"), Turn("agent", "cd", 0.0),
                                            Turn("environment", "ef")], [Turn("environment", "xy")]]
    for row_p, row_r, ctx in zip(plain, reranked, convs, strict=True):
        cands = [row_p[f"response_{i}"] for i in range(1, 5)]
        values = value_scores(model, tok2, fmt, [ctx], [cands])[0]
        order = sorted(range(4), key=lambda i: (-values[i], i))
        assert [row_r[f"response_{i}"] for i in range(1, 5)] == [cands[i] for i in order]
    assert [r["response_1"] for r in plain] != [r["response_1"] for r in reranked]  # the critic changed a top-1
    s_plain = json.loads((setup / "plain" / "summary.json").read_text())["metrics"]["chrf"]
    s_rr = json.loads((setup / "reranked" / "summary.json").read_text())
    # best-of-4 is the same set either way; top-1 is the value-best candidate's score
    assert s_rr["metrics"]["chrf"]["top4"]["mean"] == pytest.approx(s_plain["top4"]["mean"])
    assert s_rr["metrics"]["chrf"]["top1"]["mean"] == pytest.approx(
        sum(float(r["chrf_1"]) for r in reranked) / 3)
    assert s_rr["rerank_with"] == str(setup / "critic") and "reranked_by" in s_rr


def test_rerank_needs_value_heads_and_candidates(setup, capsys):
    base = ["eval", "dialogue", "--model", str(setup / "policy"), "--data", str(setup / "test.jsonl"),
            "--out", str(setup / "x"), "--max-new-tokens", "2"]
    assert main([*base, "--rerank-with", str(setup / "policy")]) == 2
    assert "has no value heads" in capsys.readouterr().err
    assert main([*base, "--beams", "0", "--rerank-with", str(setup / "policy")]) == 2
    assert "--beams to 1 or more" in capsys.readouterr().err
    assert main([*base, "--rerank-with", str(setup / "nowhere")]) == 2
    assert "nowhere: model directory does not exist" in capsys.readouterr().err
    assert not (setup / "x").exists()
