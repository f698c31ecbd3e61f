"""`lexiq generate` prints one line per returned sequence of the policy's next agent turn."""

import json

from lexiq.cli import main


def test_generate_prints_every_returned_sequence(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    turns = [{"role": "agent", "text": "crane", "reward": -1.0}, {"role": "environment", "text": "<b><b><b><b><b>"}]
    data.write_text(json.dumps({"turns": turns, "terminated": True}) + "\n")
    out = tmp_path / "run"
    assert main(["train", "bc", "--config", "configs/wordle/bc.yaml", f"data.train={data}", f"train.output_dir={out}",
                 "train.max_steps=1", "train.progress=false", "eval.env=null", "model.path=tiny"]) == 0
    capsys.readouterr()
    policy = str(out / "policy")
    assert main(["generate", "--model", policy, "decoding.strategy=greedy", "decoding.max_new_tokens=6"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["generate", "--model", policy, "decoding.strategy=sample", "decoding.num_return_sequences=3",
                 "decoding.max_new_tokens=6"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
