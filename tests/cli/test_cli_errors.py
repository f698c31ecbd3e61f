"""Bad input ends in one clear line on stderr, exit status 2, and no partial output."""

import json

import pytest

from lexiq.cli import main


def _episode(text="raise"):
    return {"turns": [{"role": "agent", "text": text, "reward": -1.0},
                      {"role": "environment", "text": "<b><b><b><b><b>"}], "terminated": True}


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _run_train(tmp_path, capsys, data_path, *extra, objective="bc"):
    out = tmp_path / "run"
    code = main(["train", objective, "--config", "configs/wordle/bc.yaml", f"data.train={data_path}",
                 f"train.output_dir={out}", "train.max_steps=1", "train.progress=false", "eval.env=null",
                 "model.path=tiny", *extra])
    err = capsys.readouterr().err.strip()
    return code, err, out


def _assert_one_line_error(code, err, *needles):
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lexiq: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_malformed_jsonl_names_file_and_line(tmp_path, capsys):
    data = _write(tmp_path / "bad.jsonl", [json.dumps(_episode()), "{not json"])
    code, err, out = _run_train(tmp_path, capsys, data)
    _assert_one_line_error(code, err, "bad.jsonl:2", "JSON")
    assert not out.exists()


def test_empty_episode_is_rejected(tmp_path, capsys):
    data = _write(tmp_path / "empty.jsonl", [json.dumps(_episode()), json.dumps({"turns": []})])
    code, err, out = _run_train(tmp_path, capsys, data)
    _assert_one_line_error(code, err, "empty.jsonl:2", "empty episode")
    assert not out.exists()


def test_over_long_episode_is_rejected(tmp_path, capsys):
    data = _write(tmp_path / "long.jsonl", [json.dumps(_episode()), json.dumps(_episode("abcde" * 8))])
    code, err, out = _run_train(tmp_path, capsys, data, "data.max_length=20")
    _assert_one_line_error(code, err, "max_length", "long.jsonl: episode 1")
    assert not out.exists()


def test_unknown_objective(tmp_path, capsys):
    data = _write(tmp_path / "ok.jsonl", [json.dumps(_episode())])
    code, err, out = _run_train(tmp_path, capsys, data, objective="ppo_magic")
    _assert_one_line_error(code, err, "unknown objective 'ppo_magic'", "ilql")
    assert not out.exists()


def test_missing_model_directory(tmp_path, capsys):
    data = _write(tmp_path / "ok.jsonl", [json.dumps(_episode())])
    missing = tmp_path / "no_such_model"
    code, err, out = _run_train(tmp_path, capsys, data, f"model.path={missing}")
    _assert_one_line_error(code, err, "no_such_model", "does not exist")
    assert not out.exists()
    code = main(["eval", "--model", str(missing)])
    _assert_one_line_error(code, capsys.readouterr().err.strip(), "no_such_model")


def test_unknown_config_key(tmp_path, capsys):
    data = _write(tmp_path / "ok.jsonl", [json.dumps(_episode())])
    code, err, out = _run_train(tmp_path, capsys, data, "train.learning_rate=1")
    _assert_one_line_error(code, err, "train.learning_rate")
    assert not out.exists()


def test_unknown_environment_fails_before_training(tmp_path, capsys):
    data = _write(tmp_path / "ok.jsonl", [json.dumps(_episode())])
    code, err, out = _run_train(tmp_path, capsys, data, "eval.env=wordle", "eval.env_options.vocab=no_such_list")
    _assert_one_line_error(code, err, "eval.env", "no_such_list")
    assert not out.exists()


def test_missing_data_file(tmp_path, capsys):
    code, err, out = _run_train(tmp_path, capsys, tmp_path / "nope.jsonl")
    _assert_one_line_error(code, err, "nope.jsonl")
    assert not out.exists()


def test_data_wordle_bad_kind_and_vocab_write_nothing(tmp_path, capsys):
    out = tmp_path / "w.jsonl"
    with pytest.raises(SystemExit):
        main(["data", "wordle", "--kind", "nonsense", "--out", str(out)])
    assert not out.exists()
    capsys.readouterr()
    code = main(["data", "wordle", "--vocab", "no_such_list", "--episodes", "3", "--out", str(out)])
    _assert_one_line_error(code, capsys.readouterr().err.strip(), "no_such_list")
    assert not out.exists()


def test_data_wordle_options(tmp_path, capsys):
    from lexiq.data.jsonl import read_episodes

    out = tmp_path / "w.jsonl"
    code = main(["data", "wordle", "--vocab", "official_200", "--episodes", "12", "--out", str(out),
                 "--option", "behaviours={looping: 1}", "--option", "loop_after=1"])
    assert code == 0
    eps = list(read_episodes(out))
    assert len(eps) == 12 and {e.meta["behaviour"] for e in eps} == {"looping"}
    for ep in eps:  # one expert guess, then only that word again
        words = [t.text for t in ep.agent_turns]
        assert set(words) == {words[0]}
    capsys.readouterr()
    out.unlink()
    for bad, needle in ((["--option", "no_equals"], "KEY=VALUE"), (["--option", "colour=red"], "colour"),
                        (["--option", "behaviours={expert: -1}"], "behaviours")):
        code = main(["data", "wordle", "--episodes", "3", "--out", str(out), *bad])
        _assert_one_line_error(code, capsys.readouterr().err.strip(), needle)
        assert not out.exists()


def test_bench_wordle_unknown_method_writes_nothing(tmp_path, capsys):
    out = tmp_path / "bench"
    code = main(["bench", "wordle", "--quick", "--methods", "bc,dqn", "--out", str(out)])
    _assert_one_line_error(code, capsys.readouterr().err.strip(), "dqn", "filtered_bc")
    assert not out.exists()


def test_several_return_sequences_in_evaluation_fail_before_training(tmp_path, capsys):
    data = _write(tmp_path / "ok.jsonl", [json.dumps(_episode())])
    out = tmp_path / "run"
    code = main(["train", "bc", "--config", "configs/wordle/bc.yaml", f"data.train={data}", f"train.output_dir={out}",
                 "train.max_steps=1", "train.progress=false", "model.path=tiny", "decoding.strategy=sample",
                 "decoding.num_return_sequences=2"])
    _assert_one_line_error(code, capsys.readouterr().err.strip(), "num_return_sequences=2", "lexiq generate")
    assert not out.exists()


def test_negative_evaluation_episodes_fail_before_training(tmp_path, capsys):
    data = _write(tmp_path / "ok.jsonl", [json.dumps(_episode())])
    code, err, out = _run_train(tmp_path, capsys, data, "eval.episodes=-1")
    _assert_one_line_error(code, err, "eval.episodes=-1")
    assert not out.exists()


def test_zero_evaluation_episodes_train_without_rollouts(tmp_path, capsys):
    data = _write(tmp_path / "ok.jsonl", [json.dumps(_episode())])
    code, _, out = _run_train(tmp_path, capsys, data, "eval.env=wordle", "eval.episodes=0")
    assert code == 0
    result = json.loads((out / "results.json").read_text())
    assert result["steps"] == 1 and "eval" not in result
    assert (out / "policy" / "config.json").exists()
