import pytest
import torch
import torch.nn.functional as F

from lexiq.objectives.base import observation_mask, observation_term
from lexiq.objectives.bc import BC, BCConfig
from lexiq.objectives.ilql import ILQL, ILQLConfig
from lexiq.objectives.mc_returns import MCReturns, MCReturnsConfig


def test_observation_mask_marks_positions_that_emit_environment_tokens(hand_batch):
    # row 0: position 2 emits the env token 4 (position 4 would emit padding); row 1: position 0 emits token 7,
    # position 5 is the last token and emits nothing
    expected = torch.tensor([[0, 0, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(observation_mask(hand_batch), expected)


def test_observation_term_is_mean_nll_of_environment_tokens(tiny_model, hand_batch):
    hidden = tiny_model.hidden(hand_batch["input_ids"], hand_batch["attention_mask"])
    loss, metrics = observation_term(tiny_model, hidden, hand_batch)
    logits = tiny_model.logits(hidden)
    naive = (F.cross_entropy(logits[0, 2], torch.tensor(4)) + F.cross_entropy(logits[1, 0], torch.tensor(7))) / 2
    assert loss.item() == pytest.approx(naive.item(), rel=1e-5)
    assert metrics["losses/observation"] == pytest.approx(naive.item(), rel=1e-5)


@pytest.mark.parametrize("make", [
    lambda w: BC(BCConfig(observation_weight=w)),
    lambda w: ILQL(ILQLConfig(observation_weight=w)),
    lambda w: MCReturns(MCReturnsConfig(observation_weight=w)),
])
def test_observation_weight_adds_the_weighted_term(tiny_model, hand_batch, make):
    off, on = make(0.0), make(0.5)
    off.setup_model(tiny_model)
    base, m_off = off.loss(tiny_model, hand_batch)
    with_obs, m_on = on.loss(tiny_model, hand_batch)
    assert "losses/observation" not in m_off
    assert with_obs.item() == pytest.approx(base.item() + 0.5 * m_on["losses/observation"], rel=1e-5)


def test_observation_term_trains_the_model_to_predict_feedback(tiny_model, hand_batch):
    opt = torch.optim.Adam(tiny_model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        hidden = tiny_model.hidden(hand_batch["input_ids"], hand_batch["attention_mask"])
        loss, _ = observation_term(tiny_model, hidden, hand_batch)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
