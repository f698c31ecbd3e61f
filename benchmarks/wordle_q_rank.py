"""Q-ranking diagnostic for a Wordle value model (the "branch" Q-rank test of the ILQL paper, specs/wordle.md §8.5).

For expert games of a mixed-quality data set with at least three guesses, take the state after the expert's two
opening guesses and compare two continuations token by token: the expert's third word and a repeat of the first
or the second guess. Prints how often the summed advantage Σ(Q̄ − V) over the word's tokens (and the first token's
advantage alone) ranks the expert word above the repeat, how often the behaviour policy π_β does, and the mean V
at that state. Used in docs/benchmarks.md to check how far the values have propagated.

    python benchmarks/wordle_q_rank.py runs/wordle_ilql/policy runs/wordle_mixed.jsonl --games 300
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from lexiq.data.jsonl import read_episodes
from lexiq.data.token_mdp import EpisodeFormat, build_prompt
from lexiq.models.model import LexiqModel
from lexiq.models.presets import ModelConfig, load_tokenizer


@torch.no_grad()
def token_scores(model: LexiqModel, prompt: list[int], word_ids: list[int]) -> dict[str, np.ndarray]:
    """log π_β, Q̄ (min of the target heads) and V at each token of ``word_ids`` appended to ``prompt``."""
    heads = model.heads
    if heads is None:
        raise SystemExit("the model has no value heads (train it with ilql or mc_returns)")
    ids = torch.tensor([prompt + word_ids])
    at = slice(len(prompt) - 1, -1)  # the states that predict the word's tokens
    hidden = model.hidden(ids)[0, at].float()  # π_β
    value_hidden = model.value_hidden(ids)[0, at].float()  # V/Q (π_β's own states unless separate_policy)
    target_hidden = model.target_hidden(ids)
    target_hidden = value_hidden if target_hidden is None else target_hidden[0, at].float()
    actions = torch.tensor(word_ids)
    logp = torch.log_softmax(model.logits(hidden).float(), -1).gather(1, actions[:, None])[:, 0]
    q = heads.q_at_from(heads.target_features(target_hidden), actions, target=True).amin(0)
    v = heads.values(value_hidden)
    return {"logp": logp.numpy(), "q": q.numpy(), "v": v.numpy()}


def main() -> None:
    try:
        run()
    except (ValueError, OSError) as exc:  # missing model directory, malformed JSONL (one-line lexiq errors)
        raise SystemExit(f"wordle_q_rank: {exc}") from None


def run() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="policy directory with value heads")
    ap.add_argument("data", help="mixed-quality Wordle JSONL (lexiq data wordle --kind mixed)")
    ap.add_argument("--games", type=int, default=300, help="expert games to use")
    args = ap.parse_args()

    model = LexiqModel.from_pretrained(args.model)
    model.eval()
    tok = load_tokenizer(ModelConfig(path=args.model, tokenizer="wordle-char"))
    fmt = EpisodeFormat.wordle()
    end_id = tok.convert_tokens_to_ids(fmt.agent_end)
    games = [e for e in read_episodes(args.data)
             if e.meta.get("behaviour", e.meta.get("kind")) == "expert" and len(e.agent_turns) >= 3][: args.games]
    if not games:
        raise SystemExit(f"{args.data}: no expert games with three or more guesses")

    def encode(word: str) -> list[int]:
        return list(tok.convert_tokens_to_ids(list(word))) + [end_id]

    n = adv_wins = first_wins = first_n = logp_wins = 0
    values = []
    for ep in games:
        prompt = build_prompt(ep.turns[:4], tok, fmt)
        expert_word = ep.turns[4].text
        e = token_scores(model, prompt, encode(expert_word))
        values.append(float(e["v"][0]))
        for repeat in (ep.turns[0].text, ep.turns[2].text):
            r = token_scores(model, prompt, encode(repeat))
            n += 1
            adv_wins += int((e["q"] - e["v"]).sum() > (r["q"] - r["v"]).sum())
            logp_wins += int(e["logp"].sum() > r["logp"].sum())
            if expert_word[0] != repeat[0]:
                first_n += 1
                first_wins += int(e["q"][0] > r["q"][0])
    print(f"pairs (expert 3rd word vs repeat): {n} from {len(games)} games")
    print(f"summed advantage ranks the expert word higher: {adv_wins}/{n}")
    print(f"first-token Q ranks it higher (different first letters): {first_wins}/{first_n}")
    print(f"behaviour policy pi_beta ranks it higher: {logp_wins}/{n}")
    print(f"mean V at the state after two guesses: {np.mean(values):.3f}")


if __name__ == "__main__":
    main()
