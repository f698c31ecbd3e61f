"""The `lexiq env` commands: list, serve (a real subprocess), and one-line errors for bad input."""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys

import pytest

from lexiq.envs.remote.client import RemoteEnv
from lexiq.serve.cli import add_env_commands, main, main_env


def test_env_list_names_every_environment(capsys):
    assert main(["env", "list"]) == 0
    names = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["wordle", "messenger", "visdial", "remote"]


def test_add_env_commands_plugs_into_a_lexiq_style_parser():
    parser = argparse.ArgumentParser(prog="lexiq")
    add_env_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["env", "serve", "wordle", "--port", "0", "--env-option", "mode=fixed",
                              "--session-timeout", "30", "--max-sessions", "8", "--fixed-options"])
    assert args.func is main_env
    assert (args.name, args.port, args.env_option, args.session_timeout, args.max_sessions, args.fixed_options) == \
        ("wordle", 0, ["mode=fixed"], 30.0, 8, True)


@pytest.mark.parametrize(("argv", "words"), [
    (["env", "serve", "chess"], "unknown environment 'chess'"),
    (["env", "serve", "wordle", "--env-option", "vocab"], "expected KEY=VALUE"),
    (["env", "serve", "wordle", "--env-option", "mode=blitz"], "unknown mode 'blitz'"),
    (["env", "serve", "wordle", "--session-timeout", "0"], "session_timeout must be > 0"),
    (["env", "serve", "wordle", "--max-sessions", "0"], "max_sessions must be >= 1"),
])
def test_bad_input_is_one_line_and_exit_status_2(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lexiq: error: ") and words in err[0], err


def test_env_serve_subprocess_serves_until_interrupted():
    proc = subprocess.Popen([sys.executable, "-m", "lexiq.serve", "env", "serve", "wordle", "--port", "0",
                             "--env-option", "mode=fixed", "--env-option", "hidden_word=crane"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", line)
        assert url, line + proc.stderr.read()
        env = RemoteEnv(url.group(0))
        env.reset()
        assert env.step("crane")[1:3] == (0.0, True)
        env.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
