"""Conversations to one-step reply episodes, by hand."""

from lexiq.data.dialogue import reply_episodes
from lexiq.data.episode import Episode, Turn


def test_every_agent_turn_becomes_one_scored_reply_with_its_history_as_context():
    conv = Episode([Turn("environment", "a latte", speaker="customer"),
                    Turn("agent", '{"name":"get_menu_items"}', 0.0, speaker="api_call"),
                    Turn("environment", '{"name":"get_menu_items","response":[]}', speaker="api"),
                    Turn("agent", "what size?", 0.0, speaker="agent"),
                    Turn("environment", "large", speaker="customer"),
                    Turn("agent", "done", 0.0)], meta={"conversation_id": "c1"})
    eps = reply_episodes(conv, reward=1.0)
    assert len(eps) == 3
    last = eps[2]
    assert [(t.role, t.speaker) for t in last.turns] == [
        ("environment", "customer"), ("environment", "api_call"), ("environment", "api"),
        ("environment", "agent"), ("environment", "customer"), ("agent", None)]
    assert [t.text for t in last.turns] == [t.text for t in conv.turns]
    assert [ep.total_reward for ep in eps] == [1.0, 1.0, 1.0] and len(last.agent_turns) == 1
    assert last.meta == {"conversation_id": "c1", "turn": 5}
    assert eps[0].turns[-1].speaker == "api_call" and len(eps[0].turns) == 2
    # the logged reward is kept without an override; short contexts can be skipped
    assert [ep.meta["turn"] for ep in reply_episodes(conv, min_context_turns=2)] == [3, 5]
    assert reply_episodes(conv)[1].total_reward == 0.0
    # the agent's words only (the paper's replies): API calls stay in the context; a turn without a speaker is "agent"
    words = reply_episodes(conv, speakers={"agent"})
    assert [ep.meta["turn"] for ep in words] == [3, 5]
    assert words[0].turns[1].speaker == "api_call" and words[0].turns[1].role == "environment"
    assert [ep.meta["turn"] for ep in reply_episodes(conv, speakers={"api_call"})] == [1]
