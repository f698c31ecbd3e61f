"""`lexiq chat`: the scripted loop (turns, skipped lines, greedy replies, history bound) and a real terminal session."""

import io
import json
import os
import select
import subprocess
import sys
import time

import pytest
import torch

from lexiq.chat import chat, context_turns, context_window
from lexiq.cli import main
from lexiq.data.episode import Episode, Turn
from lexiq.data.jsonl import read_episodes
from lexiq.data.token_mdp import EpisodeFormat
from lexiq.decoding.config import DecodingConfig
from lexiq.evaluation.rollout import LMPolicy
from lexiq.models.presets import ModelConfig, build_model, load_tokenizer
from lexiq.run import load_policy

GREEDY = DecodingConfig(strategy="greedy", beta=0.0, max_new_tokens=6)


def _save_policy(directory, tokenizer_name: str | None, fmt: EpisodeFormat) -> str:
    """An untrained tiny policy saved the way `lexiq train` saves one (plain HF directory + lexiq.json)."""
    cfg = ModelConfig(path="tiny", tokenizer=tokenizer_name, n_positions=64)
    tok = load_tokenizer(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, tok)
    model.meta["episode_format"] = fmt.to_dict()
    model.meta["decoding"] = {"strategy": "greedy", "max_new_tokens": 8}
    model.eval().save_pretrained(directory, tokenizer=tok)
    return str(directory)


@pytest.fixture(scope="module")
def byte_policy(tmp_path_factory):
    """Any text is encodable: one token per UTF-8 byte, the tokenizer's eos ends agent turns."""
    tok = load_tokenizer(ModelConfig(path="tiny", tokenizer="bytes"))
    return load_policy(_save_policy(tmp_path_factory.mktemp("bytes") / "policy", "bytes",
                                    EpisodeFormat.for_tokenizer(tok)))


@pytest.fixture(scope="module")
def wordle_policy_dir(tmp_path_factory):
    """Replies are printable (letters and markers only), so a terminal shows them verbatim."""
    return _save_policy(tmp_path_factory.mktemp("wordle") / "policy", None, EpisodeFormat.wordle())


def _script(lines):
    """A `read` that answers the given lines, then raises EOFError like `input` at the end of input."""
    it = iter(lines)

    def read(prompt: str) -> str:
        try:
            return next(it)
        except StopIteration:
            raise EOFError from None

    return read


def test_chat_transcript_and_replies_match_the_policy(byte_policy):
    model, tok, fmt = byte_policy
    shown: list[str] = []
    episode = chat(model, tok, fmt, GREEDY, read=_script(["hello", "", "   ", "how are you?", "  QUIT  ", "never"]),
                   write=shown.append, max_prompt_tokens=48, name="tiny")
    assert "quit or exit" in shown[1] and "tiny" in shown[0]
    assert [t.role for t in episode.turns] == ["environment", "agent"] * 2
    assert [t.text for t in episode.turns[::2]] == ["hello", "how are you?"]
    assert episode.terminated and episode.meta["chat"]["decoding"]["strategy"] == "greedy"
    policy = LMPolicy(model, tok, fmt, GREEDY, max_prompt_tokens=48)
    for k in (1, 3):  # every reply is the policy's greedy reply to the whole conversation before it
        expected = policy.act([Episode(episode.turns[:k], terminated=False)])[0]
        assert episode.turns[k].text == expected
        assert episode.turns[k].reward == 0.0
    assert [line for line in shown if line.startswith("policy> ")] == [
        f"policy> {t.text}" for t in episode.turns[1::2]]


def test_history_bounds_the_context_the_policy_sees(byte_policy, monkeypatch):
    model, tok, fmt = byte_policy
    seen: list[list[str]] = []

    def act(self, episodes, envs=()):
        seen.append([t.text for t in episodes[0].turns])
        return [f"r{len(seen)}", "second beam"]  # num_return_sequences > 1: the first (best) one is the reply

    monkeypatch.setattr(LMPolicy, "act", act)
    episode = chat(model, tok, fmt, GREEDY, read=_script(["a", "b", "c"]), write=lambda s: None, history=1)
    assert seen == [["a"], ["a", "r1", "b"], ["b", "r2", "c"]]
    assert [t.text for t in episode.turns] == ["a", "r1", "b", "r2", "c", "r3"]
    seen.clear()
    chat(model, tok, fmt, GREEDY, read=_script(["a", "b"]), write=lambda s: None, history=0)
    assert seen == [["a"], ["b"]]
    turns = [Turn("environment", "x"), Turn("agent", "y"), Turn("environment", "z")]
    assert context_turns(turns, None) == turns and context_turns(turns, 5) == turns
    with pytest.raises(ValueError, match="history -1"):
        chat(model, tok, fmt, GREEDY, read=_script([]), write=lambda s: None, history=-1)


def test_context_window_defaults_to_the_model_positions(byte_policy, monkeypatch):
    model, tok, fmt = byte_policy
    assert context_window(model, GREEDY) == 64 - 6
    limits = []
    real_init = LMPolicy.__init__

    def init(self, *args, **kwargs):
        limits.append(kwargs.get("max_prompt_tokens"))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(LMPolicy, "__init__", init)
    long_line = "a long line that does not fit " * 4  # > 58 bytes: the prompt is cut to the context window
    episode = chat(model, tok, fmt, GREEDY, read=_script([long_line, long_line]), write=lambda s: None)
    assert limits == [58] and len(episode.turns) == 4


def test_unencodable_line_is_dropped_and_ctrl_c_ends(wordle_policy_dir):
    model, tok, fmt = load_policy(wordle_policy_dir)
    lines = iter(["Hello There", "crane"])
    shown: list[str] = []

    def read(prompt: str) -> str:
        line = next(lines, None)
        if line is None:
            raise KeyboardInterrupt
        return line

    episode = chat(model, tok, fmt, GREEDY, read=read, write=shown.append)
    assert any(s.startswith("(cannot encode that line") for s in shown)
    assert [t.text for t in episode.turns[::2]] == ["crane"] and len(episode.turns) == 2


def test_cli_chat_overrides_transcript_and_errors(byte_policy, wordle_policy_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("hi\n\nexit\n"))
    out = tmp_path / "t" / "chat.jsonl"
    assert main(["chat", "--checkpoint", wordle_policy_dir, "--history", "2", "--transcript", str(out),
                 "decoding.max_new_tokens=3"]) == 0
    (episode,) = read_episodes(out)
    assert [t.role for t in episode.turns] == ["environment", "agent"] and episode.turns[0].text == "hi"
    assert episode.meta["chat"]["decoding"]["max_new_tokens"] == 3 and episode.meta["chat"]["history"] == 2
    assert f"policy> {episode.turns[1].text}" in capsys.readouterr().out

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # end of input at once: nothing said, nothing written
    assert main(["chat", "--checkpoint", wordle_policy_dir, "--transcript", str(tmp_path / "none.jsonl")]) == 0
    assert not (tmp_path / "none.jsonl").exists()
    capsys.readouterr()

    for argv, what in [(["--checkpoint", str(tmp_path / "missing")], "model directory does not exist"),
                       (["--checkpoint", wordle_policy_dir, "eval.episodes=3"], "unknown override section eval"),
                       (["--checkpoint", wordle_policy_dir, "--history", "-1"], "--history -1"),
                       (["--checkpoint", wordle_policy_dir, "decoding.beta=4"], "no value heads")]:
        assert main(["chat", *argv]) == 2
        last = capsys.readouterr().err.splitlines()[-1]  # (after any weight-loading progress bar)
        assert last.startswith("lexiq: error: ") and what in last


def _read_until(fd: int, needle: bytes, buffer: bytearray, deadline: float) -> bool:
    """Append the terminal's output to ``buffer`` until ``needle`` shows up (True) or the deadline / EOF (False)."""
    while needle not in buffer:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        buffer += chunk
    return True


@pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a pseudo-terminal")
def test_chat_in_a_pseudo_terminal(wordle_policy_dir, tmp_path):
    transcript = tmp_path / "chat.jsonl"
    master, slave = os.openpty()
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.Popen([sys.executable, "-m", "lexiq.cli", "chat", "--checkpoint", wordle_policy_dir,
                             "--transcript", str(transcript), "decoding.max_new_tokens=4"],
                            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    output = bytearray()
    try:
        deadline = time.monotonic() + 60
        assert _read_until(master, b"you> ", output, deadline), output.decode(errors="replace")
        assert b"quit or exit" in output
        os.write(master, b"hi\n")
        assert _read_until(master, b"policy> ", output, deadline), output.decode(errors="replace")
        start = output.index(b"policy> ") + len(b"policy> ")
        assert _read_until(master, b"you> ", output, deadline), output.decode(errors="replace")
        reply_line = output[start:].split(b"\r\n")[0].decode()
        os.write(master, b"exit\n")
        assert proc.wait(timeout=max(1.0, deadline - time.monotonic())) == 0
        _read_until(master, b"transcript: ", output, time.monotonic() + 2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    (episode,) = read_episodes(transcript)
    assert [t.text for t in episode.turns] == ["hi", reply_line]
    model, tok, fmt = load_policy(wordle_policy_dir)
    expected = LMPolicy(model, tok, fmt, DecodingConfig(strategy="greedy", beta=0.0, max_new_tokens=4),
                        max_prompt_tokens=60).act([Episode([Turn("environment", "hi")], terminated=False)])[0]
    assert reply_line == expected
    assert json.loads(transcript.read_text())["meta"]["chat"]["checkpoint"] == wordle_policy_dir
