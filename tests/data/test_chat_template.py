"""data.format: chat_template — markers cut from a model's own chat template, multi-token markers in the token MDP."""

import pytest

from lexiq.data.episode import Episode, Turn
from lexiq.data.jsonl import write_episodes
from lexiq.data.token_mdp import EpisodeFormat, TokenMDPError, build_prompt, build_token_mdp
from lexiq.models.byte_tokenizer import byte_tokenizer
from lexiq.run import parse_run_config, run_training

# ChatML with a default system prompt, as SmolLM2-Instruct's template does it
CHATML = (
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nBe brief.<|im_end|>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CHATML_NO_SYSTEM = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _chat_tokenizer(template=CHATML):
    tok = byte_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.eos_token = "<|im_end|>"
    tok.chat_template = template
    return tok


def _episode():
    return Episode([Turn("environment", "one latte", speaker="customer"),
                    Turn("agent", '{"name":"menu"}', 0.0, speaker="agent"),
                    Turn("environment", '{"items":[]}', speaker="api"),
                    Turn("agent", "Hot or iced?", 1.0, speaker="agent")])


def _messages(ep):
    return [{"role": "assistant" if t.is_agent else "user", "content": t.text} for t in ep.turns]


def test_markers_cut_from_chatml():
    fmt = EpisodeFormat.from_chat_template(_chat_tokenizer())
    assert (fmt.start_env, fmt.start_agent) == ("<|im_start|>system\nBe brief.<|im_end|>",) * 2
    assert fmt.env_start == "\n<|im_start|>user\n"
    assert fmt.env_end == "<|im_end|>"
    assert fmt.agent_start == "\n<|im_start|>assistant\n"
    assert fmt.agent_end == "<|im_end|>"
    assert ("agent", fmt.agent_start, "<|im_end|>") in fmt.speaker_markers


def test_episode_renders_as_the_template_does_and_rewards_land_on_im_end():
    tok = _chat_tokenizer()
    fmt = EpisodeFormat.from_chat_template(tok)
    ep = _episode()
    m = build_token_mdp(ep, tok, fmt)
    rendered = tok.apply_chat_template(_messages(ep), tokenize=False)
    # the template ends every message with "\n"; the episode ends with the last action, <|im_end|>
    assert tok.decode(m.input_ids.tolist()) + "\n" == rendered
    end_id = tok.convert_tokens_to_ids("<|im_end|>")
    actions = m.action_positions.tolist()
    # the actions emit exactly the two agent texts, each closed by <|im_end|>
    emitted = tok.decode(m.input_ids[[j + 1 for j in actions]].tolist())
    assert emitted == '{"name":"menu"}<|im_end|>Hot or iced?<|im_end|>'
    ends = [j for j in actions if m.input_ids[j + 1] == end_id]
    assert m.rewards[ends].tolist() == [0.0, 1.0] and m.rewards.sum() == 1.0
    # the first reply's last action backs up to the first action of the second reply, across the API turn
    second = actions[len('{"name":"menu"}') + 1]
    assert m.next_state[ends[0]] == second
    n_open = len(tok(fmt.agent_start, add_special_tokens=False)["input_ids"])  # "\n", <|im_start|>, "assistant\n"
    assert tok.decode(m.input_ids[second - n_open + 1:second + 1].tolist()) == fmt.agent_start


def test_prompt_is_the_generation_prompt_of_the_template():
    tok = _chat_tokenizer()
    fmt = EpisodeFormat.from_chat_template(tok)
    context = _episode().turns[:3]
    prompt = build_prompt(context, tok, fmt)
    messages = _messages(Episode(context))
    expected = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert tok.decode(prompt) == expected


def test_template_without_system_prompt_has_no_start_marker():
    tok = _chat_tokenizer(CHATML_NO_SYSTEM)
    fmt = EpisodeFormat.from_chat_template(tok)
    assert fmt.start_env == "" and fmt.env_start == "\n<|im_start|>user\n"
    m = build_token_mdp(_episode(), tok, fmt)
    # the only difference from the template: the separator before the first user turn
    assert "\n" + tok.apply_chat_template(_messages(_episode()), tokenize=False) == tok.decode(m.input_ids) + "\n"


def test_tokenizers_without_a_usable_template_are_refused():
    with pytest.raises(TokenMDPError, match="no chat_template"):
        EpisodeFormat.from_chat_template(byte_tokenizer())
    tok = byte_tokenizer()
    tok.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(TokenMDPError, match="not with a special token"):
        EpisodeFormat.from_chat_template(tok)


def test_multi_token_markers_by_hand():
    tok = byte_tokenizer()
    eos = tok.eos_token
    fmt = EpisodeFormat(start_agent="S", start_env="S", agent_end=eos, env_start="U:", agent_start="A:")
    ep = Episode([Turn("environment", "x"), Turn("agent", "y", 2.0)])
    m = build_token_mdp(ep, tok, fmt)
    ids = tok.convert_tokens_to_ids
    assert m.input_ids.tolist() == [ids("S"), ids("U"), ids(":"), ids("x"), ids("A"), ids(":"), ids("y"), ids(eos)]
    assert m.action_positions.tolist() == [5, 6]  # the state that read "A:" emits y, then y's state emits eos
    assert m.rewards.tolist() == [0, 0, 0, 0, 0, 0, 2.0, 0] and m.next_state[6] == 7
    assert build_prompt(ep.turns[:1], tok, fmt) == m.input_ids[:6].tolist()
    with pytest.raises(TokenMDPError, match="agent_end='</a>' is 4 tokens"):
        build_token_mdp(ep, tok, EpisodeFormat("S", "S", "</a>"))


@pytest.mark.parametrize("objective", ["bc", "dt"])
def test_training_with_the_chat_template_adds_no_template_markers_to_the_vocabulary(tmp_path, objective):
    tok = _chat_tokenizer()
    tok_dir = tmp_path / "tok"
    tok.save_pretrained(tok_dir)
    data = tmp_path / "train.jsonl"
    failed = _episode()
    failed.turns[-1].reward = 0.0
    write_episodes(data, [_episode(), failed] * 4)
    cfg = {"model": {"path": "tiny", "tokenizer": str(tok_dir), "n_positions": 160},
           "data": {"train": str(data), "format": "chat_template"},
           "train": {"output_dir": str(tmp_path / "run"), "max_steps": 3, "batch_size": 4, "progress": False,
                     "report_to": []}}
    if objective == "dt":
        cfg["objective"] = {"return_threshold": 0.5}
    run_training(objective, *parse_run_config(objective, cfg))
    from transformers import AutoTokenizer

    saved = AutoTokenizer.from_pretrained(tmp_path / "run" / "policy")
    added = set(saved.get_added_vocab()) - set(tok.get_added_vocab())
    assert added == ({"<_reward_one_>", "<_reward_zero_>"} if objective == "dt" else set())
    assert saved.decode(build_prompt(_episode().turns[:1], saved, EpisodeFormat.from_chat_template(saved))) \
        .endswith("one latte<|im_end|>\n<|im_start|>assistant\n")
