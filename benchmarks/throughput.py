"""ILQL vs BC training-step cost, LoRA vs full fine-tuning, and Q-guided vs plain greedy generation speed,
measured in one run.

    python benchmarks/throughput.py [--steps 10] [--configs a b] [--json out.json]

Two GPT-2 shapes built from a config (no download):
  (a) vocab 64,     4 layers, width 256, 4 heads, sequence 64, batch 32
  (b) vocab 50,257, 2 layers, width 256, 4 heads, sequence 64, batch 8
  (c) vocab 50,257, 12 layers, width 768, 12 heads, sequence 64, batch 8 (GPT-2 small's shape, 124M weights;
      not in the default --configs: where LoRA's savings on weights and optimizer state show)
Generation: batch 16, 16-token prompts, 32 new tokens, greedy, no early stop.

Training batch: the first 16 tokens of every row are environment (prompt) tokens, the other 48 are agent
actions of one turn whose reward sits on its last token; every step is forward + backward + AdamW step
(+ the Polyak update for ILQL). The ``*_lora`` variants put rank-16 LoRA adapters (peft, α 32) on every linear
layer but the output layer and train only those (ILQL's value heads stay fully trained). Each timing is the
median of ``--steps`` measured steps after warm-up, with the methods interleaved so that drift of the machine hits
all of them alike.

Memory: every training variant runs in a fresh subprocess; on CPU the figure is the peak resident set size
(VmHWM, reset after the imports) minus the resident size just before the model was built (so: weights +
gradients + optimizer state + activations, 3 steps), on CUDA ``torch.cuda.max_memory_allocated``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

import torch

CONFIGS = {
    "a": {"vocab": 64, "n_layer": 4, "n_embd": 256, "n_head": 4, "seq": 64, "batch": 32},
    "b": {"vocab": 50257, "n_layer": 2, "n_embd": 256, "n_head": 4, "seq": 64, "batch": 8},
    "c": {"vocab": 50257, "n_layer": 12, "n_embd": 768, "n_head": 12, "seq": 64, "batch": 8},  # GPT-2 small, 124M
}
VARIANTS = {
    "bc": ("bc", {}),
    "ilql": ("ilql", {"cql_weight": 0.01}),
    "ilql_nocql": ("ilql", {"cql_weight": 0.0}),
    "bc_lora": ("bc", {}),
    "ilql_lora": ("ilql", {"cql_weight": 0.01}),
}
LORA_RANK = 16
PROMPT = 16


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def _reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _peak_rss_bytes() -> int:
    """Peak RSS of this process image (VmHWM; unlike ru_maxrss it is not inherited from the parent at fork)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not found in /proc/self/status")


def _model(shape: dict, device: str, lora: bool = False):
    from transformers import GPT2Config, GPT2LMHeadModel

    from lexiq.models.model import LexiqModel

    cfg = GPT2Config(vocab_size=shape["vocab"], n_layer=shape["n_layer"], n_embd=shape["n_embd"],
                     n_head=shape["n_head"], n_positions=max(128, shape["seq"]), resid_pdrop=0.0, embd_pdrop=0.0,
                     attn_pdrop=0.0)
    lm = GPT2LMHeadModel(cfg)
    if lora:  # as build_model does for model.lora_r > 0
        from lexiq.models.lora import add_lora

        lm = add_lora(lm, LORA_RANK, 2.0 * LORA_RANK, 0.0, "all-linear")
    return LexiqModel(lm).to(device)


def _batch(shape: dict, device: str, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    b, t = shape["batch"], shape["seq"]
    ids = torch.randint(0, shape["vocab"], (b, t), generator=g)
    action = torch.zeros(b, t)
    action[:, PROMPT - 1 : t - 1] = 1.0
    rewards = torch.zeros(b, t)
    rewards[:, t - 2] = torch.randn(b, generator=g)
    next_state = torch.arange(t).clamp(max=t - 1).add(1).clamp(max=t - 1).expand(b, t).clone()
    next_terminal = torch.zeros(b, t)
    next_terminal[:, t - 2] = 1.0
    returns = torch.zeros(b, t)
    batch = {"input_ids": ids, "attention_mask": torch.ones(b, t, dtype=torch.long), "action_mask": action,
             "rewards": rewards, "next_state": next_state, "next_terminal": next_terminal, "returns": returns}
    return {k: v.to(device) for k, v in batch.items()}


def _objective(variant: str):
    from lexiq.objectives import get_objective

    name, fields = VARIANTS[variant]
    cls = get_objective(name)
    return cls(cls.config_class(**fields))


class _Stepper:
    def __init__(self, shape: dict, variant: str, device: str):
        torch.manual_seed(0)
        self.model = _model(shape, device, lora=variant.endswith("_lora"))
        self.objective = _objective(variant)
        self.objective.setup_model(self.model)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(params, lr=1e-4)
        self.batch = _batch(shape, device)
        self.device = device

    def step(self) -> float:
        if self.device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss, _ = self.objective.loss(self.model, self.batch)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.objective.after_optimizer_step(self.model)
        if self.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0


def _memory_child(config: str, variant: str, steps: int, device: str) -> None:
    """Run in a fresh process: print peak training memory (bytes) of one variant."""
    shape = CONFIGS[config]
    from transformers import GPT2LMHeadModel  # noqa: F401

    import lexiq.objectives  # noqa: F401  (import cost is not the model's memory)

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        _reset_peak_rss()
        base = _rss_bytes()
    stepper = _Stepper(shape, variant, device)
    for _ in range(steps):
        stepper.step()
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _peak_rss_bytes() - base
    print(json.dumps({"peak_bytes": peak}))


def _memory(config: str, variant: str, device: str) -> int:
    cmd = [sys.executable, __file__, "--memory-child", config, variant, "--device", device]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["peak_bytes"])


def train_table(config: str, steps: int, device: str) -> dict[str, float]:
    shape = CONFIGS[config]
    steppers = {v: _Stepper(shape, v, device) for v in VARIANTS}
    for s in steppers.values():  # warm-up
        for _ in range(2):
            s.step()
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(steps):
        for v, s in steppers.items():
            times[v].append(s.step())
    med = {v: statistics.median(t) for v, t in times.items()}
    lora_model = steppers["bc_lora"].model
    steppers_trainable = (sum(p.numel() for p in lora_model.parameters() if p.requires_grad)
                          / sum(p.numel() for p in lora_model.parameters()))
    del steppers
    mem = {v: _memory(config, v, device) for v in VARIANTS}
    out = {
        "bc_step_ms": med["bc"] * 1e3, "ilql_step_ms": med["ilql"] * 1e3, "ilql_nocql_step_ms": med["ilql_nocql"] * 1e3,
        "ilql_over_bc": med["ilql"] / med["bc"], "ilql_nocql_over_bc": med["ilql_nocql"] / med["bc"],
        "bc_peak_mb": mem["bc"] / 2**20, "ilql_peak_mb": mem["ilql"] / 2**20,
        "ilql_nocql_peak_mb": mem["ilql_nocql"] / 2**20, "ilql_mem_over_bc": mem["ilql"] / mem["bc"],
    }
    for name in ("bc", "ilql"):  # LoRA against full fine-tuning of the same objective
        out[f"{name}_lora_step_ms"] = med[f"{name}_lora"] * 1e3
        out[f"{name}_lora_over_full"] = med[f"{name}_lora"] / med[name]
        out[f"{name}_lora_peak_mb"] = mem[f"{name}_lora"] / 2**20
        out[f"{name}_lora_mem_over_full"] = mem[f"{name}_lora"] / mem[name]
    out["lora_trainable_fraction"] = steppers_trainable
    return out


def generation_table(config: str, repeats: int, device: str) -> dict[str, float]:
    from lexiq.decoding import generate
    from lexiq.decoding.config import DecodingConfig
    from lexiq.models.model import HeadsConfig

    shape = CONFIGS[config]
    torch.manual_seed(0)
    model = _model(shape, device)
    model.add_heads(HeadsConfig())
    model.eval()
    batch, new = 16, 32
    ids = torch.randint(0, shape["vocab"], (batch, PROMPT), generator=torch.Generator().manual_seed(1)).to(device)
    attn = torch.ones_like(ids)
    plain = DecodingConfig(strategy="greedy", beta=0.0, max_new_tokens=new)
    guided = DecodingConfig(strategy="greedy", beta=4.0, max_new_tokens=new)

    def run(cfg: DecodingConfig) -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = generate(model, ids, attn, cfg, eos_token_id=None, pad_token_id=0)
        if device == "cuda":
            torch.cuda.synchronize()
        assert out.shape[1] == new, out.shape
        return time.perf_counter() - t0

    with torch.no_grad():
        for _ in range(2):
            run(plain)
            run(guided)
        tp, tg = [], []
        for _ in range(repeats):
            tp.append(run(plain))
            tg.append(run(guided))
    p, g = statistics.median(tp), statistics.median(tg)
    return {"plain_tok_s": batch * new / p, "guided_tok_s": batch * new / g, "guided_over_plain": p / g}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10, help="measured training steps per variant")
    ap.add_argument("--repeats", type=int, default=10, help="measured generate calls per variant")
    ap.add_argument("--configs", nargs="+", default=["a", "b"], choices=sorted(CONFIGS))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--json", help="also write the numbers here")
    ap.add_argument("--memory-child", nargs=2, metavar=("CONFIG", "VARIANT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        _memory_child(*args.memory_child, steps=3, device=args.device)
        return
    machine = f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}, {args.device}"
    print(f"# lexiq throughput ({machine})\n")
    rows = {}
    for c in args.configs:
        rows[c] = {**train_table(c, args.steps, args.device), **generation_table(c, args.repeats, args.device)}
    print("| config | BC step ms | ILQL step ms | ILQL/BC | ILQL(cql=0)/BC | BC peak MB | ILQL peak MB | "
          "ILQL/BC memory | plain tok/s | guided tok/s | guided/plain |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for c, r in rows.items():
        print(f"| ({c}) | {r['bc_step_ms']:.1f} | {r['ilql_step_ms']:.1f} | {r['ilql_over_bc']:.2f}× | "
              f"{r['ilql_nocql_over_bc']:.2f}× | {r['bc_peak_mb']:.0f} | {r['ilql_peak_mb']:.0f} | "
              f"{r['ilql_mem_over_bc']:.2f}× | {r['plain_tok_s']:.0f} | {r['guided_tok_s']:.0f} | "
              f"{r['guided_over_plain']:.2f}× |")
    print("\nLoRA (r 16, every linear layer but the output) against full fine-tuning, same objective:\n")
    print("| config | trainable share | BC LoRA step ms | BC LoRA/full time | BC LoRA/full memory | "
          "ILQL LoRA step ms | ILQL LoRA/full time | ILQL LoRA/full memory |")
    print("|---|---|---|---|---|---|---|---|")
    for c, r in rows.items():
        print(f"| ({c}) | {r['lora_trainable_fraction']:.1%} | {r['bc_lora_step_ms']:.1f} | "
              f"{r['bc_lora_over_full']:.2f}× | {r['bc_lora_mem_over_full']:.2f}× | {r['ilql_lora_step_ms']:.1f} | "
              f"{r['ilql_lora_over_full']:.2f}× | {r['ilql_lora_mem_over_full']:.2f}× |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": machine, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
