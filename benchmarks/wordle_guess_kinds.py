"""What a Wordle policy plays at each guess: repeats, non-words, the expert's word, consistent or inconsistent words.

Plays greedy games with a saved lexiq policy (Q-guided at ``--beta`` when it has value heads) in the resampling
environment and sorts every guess after the first into one kind:

- ``repeat``: a word guessed earlier in the game;
- ``nonword``: not in the vocabulary;
- ``expert``: one of the information-gain maximisers at that state (what the scripted expert of the data could
  play, ``OptimalPolicy.best_words``; specs/wordle.md §6.2);
- ``consistent``: another word consistent with all feedback so far;
- ``inconsistent``: a vocabulary word that the feedback already rules out.

The first guess is counted as ``opening``. Used in docs/benchmarks.md to see where a policy loses return.

    python benchmarks/wordle_guess_kinds.py runs/wordle_ilql/policy --beta 4 --games 512
"""

from __future__ import annotations

import argparse
import collections
from collections.abc import Sequence

import numpy as np

from lexiq.data.episode import Episode
from lexiq.envs.wordle.game import GameState, WordList, colors_to_pattern, is_valid_guess
from lexiq.envs.wordle.policies import OptimalPolicy

KINDS = ("opening", "repeat", "nonword", "expert", "consistent", "inconsistent")


def guess_kinds(episode: Episode, vocab: WordList, feedback: str = "ilql",
                expert: OptimalPolicy | None = None) -> list[str]:
    """The kind of each agent turn of a Wordle ``episode`` (agent guess, environment colours, ...)."""
    expert = expert or OptimalPolicy()
    history: list[tuple[str, int]] = []
    guesses: list[str] = []
    kinds: list[str] = []
    turns = episode.turns
    for i, turn in enumerate(turns):
        if turn.role != "agent":
            continue
        word = turn.text
        consistent = vocab.consistent_with(history, rule=feedback)
        if not guesses:
            kind = "opening"
        elif word in guesses:
            kind = "repeat"
        elif word not in vocab:
            kind = "nonword"
        else:
            state = GameState(vocab, consistent, tuple(guesses), feedback=feedback)
            best = expert.best_words(state)
            index = vocab.index[word]
            kind = ("expert" if index in best else
                    "consistent" if index in consistent else "inconsistent")
        kinds.append(kind)
        guesses.append(word)
        # any valid 5-letter guess gets feedback (in the vocabulary or not); an invalid one has no colour turn
        if i + 1 < len(turns) and turns[i + 1].role == "environment" and is_valid_guess(word):
            history.append((word, colors_to_pattern(turns[i + 1].text)))
    return kinds


def kind_table(episodes: Sequence[Episode], vocab: WordList, feedback: str = "ilql") -> dict[int, dict[str, int]]:
    """Counts of each kind by guess number (1-based)."""
    expert = OptimalPolicy()
    table: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for ep in episodes:
        for k, kind in enumerate(guess_kinds(ep, vocab, feedback, expert), start=1):
            table[k][kind] += 1
    return {k: dict(table[k]) for k in sorted(table)}


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of games, got {text}")
    return value


def main() -> None:
    try:
        run()
    except (ValueError, OSError) as exc:  # missing model directory, unknown vocabulary (one-line lexiq errors)
        raise SystemExit(f"wordle_guess_kinds: {exc}") from None


def run() -> None:
    from lexiq.data.token_mdp import EpisodeFormat
    from lexiq.decoding.config import DecodingConfig
    from lexiq.envs import make
    from lexiq.evaluation.rollout import LMPolicy, rollout
    from lexiq.models.model import LexiqModel
    from lexiq.models.presets import ModelConfig, load_tokenizer

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="policy directory (lexiq train ... /policy)")
    ap.add_argument("--beta", type=float, default=0.0, help="guidance strength (0 = the policy alone)")
    ap.add_argument("--games", type=_positive, default=512)
    ap.add_argument("--seed", type=int, default=5000, help="first game seed")
    ap.add_argument("--vocab", default="official_200")
    args = ap.parse_args()

    model = LexiqModel.from_pretrained(args.model)
    model.eval()
    tok = load_tokenizer(ModelConfig(path=args.model, tokenizer="wordle-char"))
    decoding = DecodingConfig(strategy="greedy", max_new_tokens=6, beta=args.beta if model.heads else 0.0)
    policy = LMPolicy(model, tok, EpisodeFormat.wordle(), decoding)
    episodes = rollout(lambda: make("wordle", vocab=args.vocab, mode="resample", feedback="ilql"), policy,
                       args.games, seed=args.seed, batch_size=256)
    table = kind_table(episodes, WordList.resolve(args.vocab))
    print(f"{args.model}  beta={decoding.beta:g}  games={args.games}  "
          f"mean return={np.mean([e.total_reward for e in episodes]):.3f}")
    print("| guess | " + " | ".join(KINDS) + " |")
    print("|---" * (len(KINDS) + 1) + "|")
    for k, counts in table.items():
        print(f"| {k} | " + " | ".join(str(counts.get(kind, 0)) for kind in KINDS) + " |")


if __name__ == "__main__":
    main()
