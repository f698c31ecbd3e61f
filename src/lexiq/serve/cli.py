"""The ``lexiq env`` commands:

    lexiq env serve NAME [--host H] [--port P] [--env-option KEY=VALUE ...] [--session-timeout S] [--max-sessions N]
    lexiq env list

``add_env_commands(subparsers)`` adds them to the ``lexiq`` parser; ``python -m lexiq.serve env ...`` runs them
without it. Bad input raises :class:`~lexiq.config.ConfigError` (one line, exit status 2).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lexiq.config import ConfigError, field_docs

ENV_HELP = {
    "wordle": "Wordle with text guesses and colour feedback (ILQL's setting; options vocab, mode, feedback, ...)",
    "messenger": "Messenger grid game as text (options stage, split, seed, root, ...)",
    "visdial": "visual dialogue: ask an A-bot about a hidden image (options url, scenes, reward_mode, ...)",
    "remote": "a served lexiq environment (options url, http_timeout, http_retries + the served env's options)",
}


def _parse_options(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings to a dict, each value read as YAML (``mode=fixed``, ``max_guesses=8``)."""
    import yaml

    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env-option {item!r}: expected KEY=VALUE, e.g. vocab=answers")
        try:
            options[key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--env-option {item!r}: the value is not valid YAML "
                              f"({exc.__class__.__name__})") from None
    return options


def _cmd_serve(args: argparse.Namespace) -> int:
    from lexiq.envs import ENV_NAMES
    from lexiq.serve.config import ServeConfig

    if args.name not in ENV_NAMES:
        raise ConfigError(f"unknown environment {args.name!r}; expected one of {', '.join(ENV_NAMES)}")
    try:
        config = ServeConfig(env=args.name, env_options=_parse_options(args.env_option), host=args.host,
                             port=args.port, session_timeout=args.session_timeout, max_sessions=args.max_sessions,
                             max_body_bytes=args.max_body_bytes, allow_client_options=not args.fixed_options,
                             log_level=args.log_level)
    except ValueError as exc:
        raise ConfigError(f"lexiq env serve: {exc}") from None
    try:
        from lexiq.serve.app import create_app
        from lexiq.serve.server import serve
    except ImportError as exc:
        raise ConfigError(f"lexiq env serve needs the serve extra ({exc.name} is missing): "
                          "pip install 'lexiq[serve]'") from None
    try:
        app = create_app(config)  # builds one environment: bad options fail here
    except (TypeError, ValueError, OSError) as exc:
        raise ConfigError(f"lexiq env serve {args.name} {config.env_options}: {exc}") from None
    try:
        serve(config, app)
    except OSError as exc:  # address in use, unknown host
        raise ConfigError(f"lexiq env serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from lexiq.envs import ENV_NAMES

    for name in ENV_NAMES:
        print(f"{name}\t{ENV_HELP.get(name, '')}")
    return 0


def main_env(args: argparse.Namespace) -> int:
    """Run the ``lexiq env`` subcommand named by ``args.env_command``."""
    return {"serve": _cmd_serve, "list": _cmd_list}[args.env_command](args)


def add_env_commands(subparsers: Any) -> None:
    """Add the ``env`` command group (``serve``, ``list``) to the ``lexiq`` parser's subparsers."""
    from lexiq.serve.config import ServeConfig

    docs = field_docs(ServeConfig)
    defaults = ServeConfig()
    en = subparsers.add_parser("env", help="serve environments over HTTP (docs/serving.md), list them")
    esub = en.add_subparsers(dest="env_command", required=True)
    sv = esub.add_parser("serve", help="serve a lexiq environment over HTTP + JSON until Ctrl-C")
    sv.add_argument("name", help="environment to serve (lexiq env list)")
    sv.add_argument("--host", default=defaults.host, help=docs["host"])
    sv.add_argument("--port", type=int, default=defaults.port, help=docs["port"] + " 0 = any free port")
    sv.add_argument("--env-option", action="append", default=[], metavar="KEY=VALUE",
                    help="environment option, the value in YAML (repeatable): vocab=answers, mode=fixed, ...")
    sv.add_argument("--fixed-options", action="store_true",
                    help="sessions may not set env options of their own (every session gets --env-option's)")
    sv.add_argument("--session-timeout", type=float, default=defaults.session_timeout, metavar="S",
                    help=docs["session_timeout"])
    sv.add_argument("--max-sessions", type=int, default=defaults.max_sessions, metavar="N",
                    help=docs["max_sessions"])
    sv.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes, metavar="B",
                    help=docs["max_body_bytes"])
    sv.add_argument("--log-level", default=defaults.log_level, choices=["debug", "info", "warning", "error"],
                    help=docs["log_level"])
    sv.set_defaults(func=main_env)
    ls = esub.add_parser("list", help="the environments lexiq can build and serve")
    ls.set_defaults(func=main_env)


def main(argv: list[str] | None = None) -> int:
    """``python -m lexiq.serve env serve wordle ...``: the same commands and errors as ``lexiq env``."""
    parser = argparse.ArgumentParser(prog="lexiq", description="lexiq environment commands")
    add_env_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"lexiq: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
