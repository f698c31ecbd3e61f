"""AdmissiblePolicy: the shared-prefix scores equal a full forward of prompt + command under π_β and under ILQL's
π ∝ π_β·exp(β(Q̄ − V)); greedy plays the best command, sampling follows the scores."""

from __future__ import annotations

import pytest
import torch

from lexiq.data.episode import Episode, Turn
from lexiq.data.token_mdp import EpisodeFormat, build_prompt, encode_checked
from lexiq.decoding.config import DecodingConfig
from lexiq.decoding.guided import GuidedLogitsProcessor
from lexiq.evaluation.admissible import AdmissiblePolicy
from lexiq.models.model import HeadsConfig
from lexiq.models.presets import ModelConfig, build_model, load_tokenizer
from lexiq.run import add_marker_tokens

EPISODE = Episode([Turn("environment", "You are in an attic. There is a box."), Turn("agent", "open box", 0.0),
                   Turn("environment", "You open the box, revealing a key.")], terminated=False)
COMMANDS = ["take key from box", "look", "close box", "go north"]


def _model(arch: str):
    torch.manual_seed(0)
    tok = load_tokenizer(ModelConfig(path="tiny", tokenizer="bytes"))
    fmt = add_marker_tokens(tok, EpisodeFormat.dialogue())
    model = build_model(ModelConfig(path="tiny", tokenizer="bytes", arch=arch, n_embd=32, n_layer=2, n_head=2), tok)
    model.lm.resize_token_embeddings(len(tok))
    model.add_heads(HeadsConfig(separate_policy=True, separate_target=True))
    with torch.no_grad():
        for p in model.heads.parameters():
            p.normal_(0, 0.3)
    return model.eval(), tok, fmt


def _reference(model, tok, fmt, decoding) -> list[float]:
    prompt = build_prompt(EPISODE.turns, tok, fmt)
    end = tok.convert_tokens_to_ids(fmt.agent_end)
    out = []
    for command in COMMANDS:
        cand = encode_checked(tok, command) + [end]
        ids = torch.tensor([prompt + cand])
        rows = slice(len(prompt) - 1, len(prompt) - 1 + len(cand))
        with torch.no_grad():
            logits = model.logits(model.hidden(ids)[0, rows])
            if decoding.beta > 0:
                proc = GuidedLogitsProcessor(model, decoding)
                logits = logits + proc.advantage(model.value_hidden(ids)[0, rows], model.target_hidden(ids)[0, rows])
            out.append(float(torch.log_softmax(logits, -1).gather(-1, torch.tensor(cand)[:, None]).sum()))
    return out


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
@pytest.mark.parametrize("beta", [0.0, 2.0])
def test_scores_match_a_full_forward(arch, beta):
    model, tok, fmt = _model(arch)
    decoding = DecodingConfig(beta=beta)
    scores = AdmissiblePolicy(model, tok, fmt, decoding, max_length=256).scores(EPISODE, COMMANDS)
    assert torch.allclose(scores, torch.tensor(_reference(model, tok, fmt, decoding)), atol=1e-4)


def test_greedy_and_sampled_choices():
    model, tok, fmt = _model("llama")

    class Env:
        admissible_commands = COMMANDS

    greedy = AdmissiblePolicy(model, tok, fmt, DecodingConfig(beta=0.0))
    best = COMMANDS[int(torch.argmax(greedy.scores(EPISODE, COMMANDS)))]
    assert greedy.act([EPISODE, EPISODE], [Env(), Env()]) == [best, best]
    sampler = AdmissiblePolicy(model, tok, fmt, DecodingConfig(beta=0.0, strategy="sample", temperature=50.0), seed=1)
    drawn = {sampler.act([EPISODE], [Env()])[0] for _ in range(40)}
    assert len(drawn) > 1 and drawn <= set(COMMANDS)  # a high temperature spreads the draws
    with pytest.raises(ValueError, match="greedy' or 'sample"):
        AdmissiblePolicy(model, tok, fmt, DecodingConfig(beta=0.0, strategy="beam"))
