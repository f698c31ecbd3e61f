"""``lexiq data textworld``: generate (or reuse) a pool of TextWorld games and write episodes of scripted play.

    lexiq data textworld --games runs/tw/games/train --n-games 20 --kind mixed --episodes 500 --out tw.jsonl

With ``--n-games`` the pool of ``--split`` is generated into ``--games`` where missing
(:func:`lexiq.envs.textworld.games.generate_pool`); without it ``--games`` names existing game files (a file or a
directory). Players and kinds: :mod:`lexiq.envs.textworld.play`. ``--tokenizer DIR`` also trains the byte-level BPE
tokenizer the benchmark's models use (:mod:`lexiq.models.bpe_tokenizer`). The lead wires it into ``lexiq.cli`` with
``add_textworld_data_command(dsub)``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from lexiq.config import ConfigError


def _cmd_data_textworld(args: argparse.Namespace) -> int:
    from lexiq.data.jsonl import write_episodes

    try:
        from lexiq.envs.textworld.games import GameSpec, generate_pool, require_textworld
        from lexiq.envs.textworld.play import collect_episodes, dataset_stats

        require_textworld()
        games: Any = args.games
        if args.n_games is not None:
            spec = GameSpec(min_rooms=args.min_rooms, max_rooms=args.max_rooms, objects=args.objects,
                            min_quest_length=args.min_quest_length, max_quest_length=args.max_quest_length,
                            theme=args.theme)
            games = generate_pool(args.games, spec, args.split, args.n_games)
        episodes = collect_episodes(games, args.kind, args.episodes, seed=args.seed, max_steps=args.max_steps,
                                    epsilon=args.epsilon)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"lexiq data textworld: {exc}") from None
    write_episodes(args.out, episodes)
    summary = {"out": args.out, **dataset_stats(episodes)}
    if args.tokenizer:
        from lexiq.models.bpe_tokenizer import train_bpe_tokenizer

        tok = train_bpe_tokenizer((t.text for e in episodes for t in e.turns), vocab_size=args.vocab_size)
        tok.save_pretrained(args.tokenizer)
        summary["tokenizer"] = {"path": args.tokenizer, "vocab_size": len(tok)}
    print(json.dumps(summary, indent=2))
    return 0


def add_textworld_data_command(dsub: Any) -> None:
    """Add ``lexiq data textworld`` to the ``lexiq data`` sub-parsers ``dsub``."""
    from lexiq.envs.textworld.play import KINDS

    dt = dsub.add_parser("textworld", help="TextWorld games generated offline and episodes of scripted play "
                                           "(walkthrough, noisy, random, mixed; needs lexiq[textworld])")
    dt.add_argument("--games", required=True, help="pool directory (or, without --n-games, game file(s) to play)")
    dt.add_argument("--n-games", type=int, default=None, help="generate the pool's first N games where missing")
    dt.add_argument("--split", default="train", choices=["train", "valid", "test"],
                    help="which seed range the generated games come from")
    dt.add_argument("--kind", default="mixed", choices=list(KINDS), help="player (mixed: 20%% walkthrough, 30%% "
                                                                          "noisy, 50%% random)")
    dt.add_argument("--episodes", type=int, default=500, help="episodes (episode i plays game i mod N)")
    dt.add_argument("--max-steps", type=int, default=8, help="commands before an episode is cut")
    dt.add_argument("--epsilon", type=float, default=0.3, help="random-command probability of the noisy expert")
    dt.add_argument("--seed", type=int, default=0, help="seed of the players")
    dt.add_argument("--min-rooms", type=int, default=1, help="fewest rooms of a generated game")
    dt.add_argument("--max-rooms", type=int, default=2, help="most rooms of a generated game")
    dt.add_argument("--objects", type=int, default=4, help="minimum objects of a generated game")
    dt.add_argument("--min-quest-length", type=int, default=1, help="fewest commands a quest needs")
    dt.add_argument("--max-quest-length", type=int, default=3, help="most commands a quest needs")
    dt.add_argument("--theme", default="house", help="TextWorld text theme")
    dt.add_argument("--tokenizer", default=None, metavar="DIR",
                    help="also train a byte-level BPE tokenizer on the episodes' text into DIR (model.tokenizer=DIR; "
                         "lexiq.models.bpe_tokenizer)")
    dt.add_argument("--vocab-size", type=int, default=2048, help="most tokens of that tokenizer")
    dt.add_argument("--out", required=True, help="output episode JSONL file")
    dt.set_defaults(func=_cmd_data_textworld)
