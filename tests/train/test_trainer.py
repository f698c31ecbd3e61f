"""Trainer: exact resume, multi-process equivalence, logging, gradient accumulation."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

SCRIPT = str(Path(__file__).with_name("_train_script.py"))


def _run(out, steps, resume=False, save_every=0, launcher=()):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", PYTHONPATH=str(Path(SCRIPT).parent))
    cmd = [*launcher, SCRIPT, str(out), str(steps), "resume" if resume else "fresh", str(save_every)]
    if not launcher:
        cmd = [sys.executable, *cmd]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _losses(out):
    rows = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["losses/total"] for r in rows if "losses/total" in r}


def _weights(out):
    state = load_file(str(Path(out) / "policy" / "model.safetensors"))
    heads = load_file(str(Path(out) / "policy" / "lexiq_heads.safetensors"))
    return {**state, **{f"heads.{k}": v for k, v in heads.items()}}


def test_resume_continues_exactly(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    _run(straight, 6)
    _run(resumed, 3, save_every=3)
    assert (resumed / "checkpoints" / "step_3").exists()
    _run(resumed, 6, resume=True)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    la, lb = _losses(straight), _losses(resumed)
    for step in range(4, 7):
        assert la[step] == pytest.approx(lb[step], abs=1e-6)


@pytest.mark.skipif(shutil.which("accelerate") is None, reason="accelerate CLI not installed")
def test_two_processes_match_one_process(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _run(one, 4)
    # `--multi_gpu` makes accelerate start one process per rank (torchrun); with no GPU lexiq uses gloo on CPU
    launcher = ("accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29533")
    _run(two, 4, launcher=launcher)
    l1, l2 = _losses(one), _losses(two)
    assert sorted(l1) == sorted(l2) == [1, 2, 3, 4]
    assert json.loads((two / "summary.json").read_text())["num_processes"] == 2
    for step in l1:
        assert l2[step] == pytest.approx(l1[step], rel=1e-4), (step, l1, l2)
    # the same update reached the weights
    a, b = _weights(one), _weights(two)
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-4), k


def test_metrics_and_checkpoint_layout(tmp_path):
    out = tmp_path / "run"
    _run(out, 2, save_every=2)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for key in ("losses/q", "losses/v", "losses/cql", "losses/policy", "charts/tokens_per_second", "charts/lr"):
        assert key in rows[0]
    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(out / "policy")
    assert lm.config.vocab_size == 35
    assert (out / "checkpoints" / "step_2" / "trainer_state.json").exists()


@pytest.mark.skipif(shutil.which("accelerate") is None, reason="accelerate CLI not installed")
def test_cli_train_under_accelerate_launch_uses_both_processes(tmp_path):
    from lexiq.data.jsonl import write_episodes
    from lexiq.envs.wordle.datasets import generate_dataset

    data = tmp_path / "d.jsonl"
    write_episodes(data, generate_dataset("mixed", 32, seed=0, vocab="official_200"))
    out = tmp_path / "run"
    config = Path(__file__).resolve().parents[2] / "src" / "lexiq" / "configs" / "wordle" / "bc.yaml"
    cmd = ["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29534", "-m", "lexiq.cli",
           "train", "bc", "--config", str(config), f"data.train={data}", "model.path=tiny", "train.max_steps=2",
           "train.batch_size=8", f"train.output_dir={out}", "train.progress=false", "eval.episodes=4"]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    assert result["num_processes"] == 2
    assert result["eval"]["n_episodes"] == 4
    assert proc.stdout.count('"num_processes"') == 1  # only the main process reports
