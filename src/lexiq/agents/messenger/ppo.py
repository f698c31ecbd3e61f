"""PPO for EMMA on Messenger, with Language Dynamics Distillation (``specs/ldd_messenger.md`` A.4, A.5).

Proximal Policy Optimization (Schulman et al., 2017, arXiv 1707.06347) as in the EMMA / LDD Messenger code, over
``n_envs`` games of :class:`~lexiq.envs.messenger.vector.MessengerVectorEnv`. Every update collects
``rollout_steps`` steps of every game (upstream: one game, 64 steps), then runs ``epochs`` passes over the buffer
(``minibatches`` gradient steps each) with

    ρ_j  = π_θ(a_j | s_j) / π_old(a_j | s_j)
    L_RL = mean_j [ −min(ρ_j Â_j, clip(ρ_j, 1 − ε, 1 + ε) Â_j) ]
           + c_v · mean_j (V_θ(s_j) − R_j)² − c_e · mean_j H[π_θ(·|s_j)]          (c_v = 0.5, c_e = 0.01, ε = 0.1)

``returns="mc"`` (upstream): ``R_j`` = Monte-Carlo discounted returns over the buffer (``R_t = r_t + γ R_{t+1}``,
restarted at every episode end, nothing bootstrapped at the buffer's end), standardised
``(R − mean)/(std + 1e-5)``, and ``Â_j = R_j − V_θ(s_j)`` recomputed with the current critic (gradient stopped)
in every epoch. ``returns="gae"`` (an option): generalised advantage estimation with λ, bootstrapped with the
critic, advantages standardised, ``R_j = Â_j + V_old(s_j)``.

**LDD** (Zhong et al., NeurIPS 2022): with a ``teacher`` (a frozen dynamics-model trunk,
:mod:`~lexiq.agents.messenger.dynamics`) the loss of every minibatch of every epoch is

    L = L_RL + β · mean_{j, k} ( h_θ(s_j)_k − h_teacher(s_j)_k )²

where ``h_θ`` is recomputed **by the policy being optimised** on the stored states (so the term's gradient reaches
the trunk), unlike the released Messenger code, whose term is computed with ``policy_old`` while acting and only
in the first epoch and therefore never changes the trained weights (A.4.3). The teacher never trains; its
features are computed once per stored state during the rollout. ``init_from`` loads a saved EMMA (the dynamics
model's trunk for LDD's initialisation, a behaviour-cloned policy for BC + PPO) before training.

Logged to ``<out>/metrics.jsonl`` (one line per update; ``step`` = environment steps): ``losses/total``,
``losses/policy``, ``losses/value``, ``losses/entropy``, ``losses/distil``, ``charts/clipfrac``,
``charts/approx_kl``, ``charts/train_win_rate`` and ``charts/episode_return`` (episodes that ended in the
rollout, sampled actions), ``charts/env_steps``, ``charts/sps``; evaluation lines carry ``charts/win_rate``,
``charts/eval_return`` (greedy + 5 % random on ``eval_episodes`` held-out games of ``eval_split``), and with
``select_episodes`` ``charts/select_win_rate`` (the same on ``select_split`` games).
Outputs: ``checkpoint.pt`` (final policy), ``results.json`` (the win-rate curve), ``config.json``.

Checkpoint selection (EMMA's and LDD's protocol, spec A.5: "best checkpoint by validation win rate"): with
``select_episodes > 0`` every evaluation also plays that many ``select_split`` (validation) games, and the policy
with the highest validation win rate so far (the earliest on ties) is saved as ``best.pt``. ``results.json`` then
names it (``selected_step``) and gives its win rate on the evaluation games (``selected_win_rate``): the test games
play no part in choosing it. ``selected_curve[i]`` is the evaluation-game win rate of the checkpoint a run stopped
at ``steps[i]`` would have kept.

Resume: after every evaluation but the last the run saves ``resume.pt`` (policy, optimizer, the torch and NumPy
random states, the games in progress, the curve so far). Calling :func:`train_ppo` again with the same
configuration and output folder continues from it — ``metrics.jsonl`` lines logged after it are dropped — and ends
exactly as an uninterrupted run would (on the CPU); ``resume.pt`` is deleted once ``results.json`` is written. A
different configuration starts over.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lexiq.agents.messenger.emma import Emma, EmmaConfig, load_emma, save_emma
from lexiq.agents.messenger.evaluate import evaluate, policy_obs
from lexiq.agents.messenger.history import FrameHistory, frame
from lexiq.agents.messenger.runlog import MetricsLog, finished, same_config, start, write_results
from lexiq.config import ConfigError
from lexiq.envs.messenger.games import DEFAULT_MAX_STEPS
from lexiq.models.device import default_device


@dataclass
class PPOConfig:
    """PPO on Messenger (defaults: the LDD Messenger code, ``stage_two_emma.py``, spec A.5)."""

    stage: int = 2
    """Messenger stage (1, 2 or 3)."""
    split: str = "train"
    """Training games: train (mixture of multi- and single-combination games), train-mc or train-sc."""
    mc_prob: float = 0.5
    """split=train: probability of a multi-combination game (LDD 0.5; EMMA's msgr-train-v* 0.75)."""
    max_steps: int | None = None
    """Episode cap (the last step of a non-winning episode gets reward −1); None: the stage's 4 / 64 / 128."""
    manual: str = "human"
    """Manuals: human (the sentence pools; data needed) or template (built in)."""
    root: str | None = None
    """Messenger data folder (default $LEXIQ_DATA_MIRROR/messenger)."""
    n_envs: int = 1
    """Games stepped together."""
    rollout_steps: int = 64
    """Steps of every game between updates (an update sees n_envs × rollout_steps transitions; upstream 1 × 64)."""
    epochs: int = 4
    """Passes over the buffer per update."""
    minibatches: int = 1
    """Gradient steps per pass (upstream: 1, the whole buffer)."""
    lr: float = 5e-5
    """Adam learning rate."""
    gamma: float = 0.8
    """Discount γ."""
    clip: float = 0.1
    """Clip range ε of the probability ratio."""
    value_coef: float = 0.5
    """Weight c_v of the value MSE."""
    entropy_coef: float = 0.01
    """Weight c_e of the entropy bonus."""
    returns: Literal["mc", "gae"] = "mc"
    """mc: standardised Monte-Carlo returns, Â = R − V (upstream); gae: GAE(λ) advantages."""
    gae_lambda: float = 0.95
    """λ of returns=gae."""
    max_grad_norm: float = 0.0
    """Clip the gradient norm to this (0: no clipping, as upstream)."""
    total_steps: int = 100_000
    """Environment steps to train for (all games together)."""
    init_from: str = ""
    """Saved EMMA to start from: a dynamics model's checkpoint.pt (LDD initialisation) or a BC policy's."""
    teacher: str = ""
    """Dynamics model checkpoint to distil from (empty: no distillation)."""
    distil_coef: float = 0.01
    """β of the distillation term (used with a teacher)."""
    eval_every: int = 10_000
    """Evaluate every this many environment steps (and before training and at the end)."""
    eval_episodes: int = 200
    """Held-out games per evaluation."""
    eval_split: str = "test"
    """Split of the evaluation games."""
    eval_train_episodes: int = 0
    """Also evaluate on this many games of the training split (other seeds than training; 0: no)."""
    eval_epsilon: float = 0.05
    """Random-action probability of the greedy evaluation policy (EMMA: 0.05)."""
    select_episodes: int = 0
    """Also evaluate on this many select_split games and keep the best of them as best.pt (0: no selection)."""
    select_split: str = "val"
    """Split of the games that choose the kept checkpoint (validation games: never the evaluation split)."""
    seed: int = 0
    """Seed of the initialisation, the training games and the sampled actions."""
    progress: bool = True
    """Show a progress bar."""
    emma: EmmaConfig = field(default_factory=EmmaConfig)
    """Policy sizes (must equal those of init_from / teacher)."""

    def __post_init__(self) -> None:
        if self.select_episodes < 0:
            raise ConfigError(f"ppo.select_episodes={self.select_episodes}: expected 0 (no selection) or more games")
        if self.select_episodes and self.select_split == self.eval_split:
            raise ConfigError(f"ppo.select_split={self.select_split} is also the evaluation split: the games that "
                              "choose the kept checkpoint must not be the ones that score it (use val)")


def ppo_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, values: torch.Tensor,
             returns: torch.Tensor, entropy: torch.Tensor, clip: float = 0.1, value_coef: float = 0.5,
             entropy_coef: float = 0.01) -> tuple[torch.Tensor, dict[str, float]]:
    """L_RL of the module docstring (means over the batch) and its parts."""
    ratio = torch.exp(logp - old_logp)
    surrogate = torch.min(ratio * advantages, torch.clamp(ratio, 1 - clip, 1 + clip) * advantages)
    policy = -surrogate.mean()
    value = F.mse_loss(values, returns)
    ent = entropy.mean()
    total = policy + value_coef * value - entropy_coef * ent
    with torch.no_grad():
        stats = {"policy": policy.item(), "value": value.item(), "entropy": ent.item(),
                 "clipfrac": ((ratio - 1).abs() > clip).float().mean().item(),
                 "approx_kl": ((ratio - 1) - torch.log(ratio)).mean().item()}
    return total, stats


def distil_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """mean_{j,k} (h_student − h_teacher)², the teacher side without gradient."""
    return ((student - teacher.detach()) ** 2).mean()


def mc_returns(rewards: np.ndarray, dones: np.ndarray, gamma: float) -> np.ndarray:
    """Discounted returns ``(T, N)`` over a buffer, restarted after every ``done``, nothing bootstrapped."""
    out = np.zeros_like(rewards, dtype=np.float64)
    running = np.zeros(rewards.shape[1])
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running * (1.0 - dones[t])
        out[t] = running
    return out


def gae(rewards: np.ndarray, dones: np.ndarray, values: np.ndarray, last_value: np.ndarray, gamma: float,
        lam: float) -> np.ndarray:
    """GAE(λ) advantages ``(T, N)``: δ_t = r_t + γ V_{t+1}(1 − d_t) − V_t, Â_t = δ_t + γλ(1 − d_t) Â_{t+1}."""
    adv = np.zeros_like(rewards, dtype=np.float64)
    running = np.zeros(rewards.shape[1])
    for t in range(len(rewards) - 1, -1, -1):
        nxt = last_value if t == len(rewards) - 1 else values[t + 1]
        delta = rewards[t] + gamma * nxt * (1.0 - dones[t]) - values[t]
        running = delta + gamma * lam * (1.0 - dones[t]) * running
        adv[t] = running
    return adv


def standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std(ddof=1) + 1e-5) if x.size > 1 else x - x.mean()


def _file_stamp(path: str) -> list[Any] | None:
    if not path:
        return None
    p = Path(path)
    return [str(p), p.stat().st_size, p.stat().st_mtime_ns] if p.exists() else [str(p)]


def build_policy(cfg: PPOConfig, cache_dir: str | None = None) -> Emma:
    """A fresh EMMA over the stage's sentence table, or the saved one of ``cfg.init_from`` (same sizes)."""
    from lexiq.agents.messenger.text_encoder import messenger_table

    if cfg.init_from:
        model, _ = load_emma(cfg.init_from, cache_dir)
        if asdict(model.cfg) != asdict(cfg.emma):
            raise ValueError(f"init_from {cfg.init_from}: saved EMMA sizes {asdict(model.cfg)} differ from the "
                             f"run's {asdict(cfg.emma)}")
        return model
    return Emma(cfg.emma, messenger_table(cfg.stage, cfg.manual, cfg.root), cache_dir)


@dataclass
class Rollout:
    """``T`` steps of ``N`` games: what the update needs (``teacher``: frozen features, LDD only) and the
    returns / wins of the episodes that ended meanwhile."""

    frames: np.ndarray
    rows: torch.Tensor
    actions: torch.Tensor
    logp: torch.Tensor
    values: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    teacher: torch.Tensor | None
    last_value: np.ndarray | None = None
    episode_returns: list[float] = field(default_factory=list)
    episode_wins: list[bool] = field(default_factory=list)


class Collector:
    """Plays ``cfg.n_envs`` training games with the sampling policy, keeping each game's 3-frame window."""

    def __init__(self, cfg: PPOConfig, table: Any) -> None:
        from lexiq.envs.messenger.vector import MessengerVectorEnv

        self.cfg, self.table = cfg, table
        self.env = MessengerVectorEnv(cfg.n_envs, cfg.stage, cfg.split, seed=cfg.seed * 100_003, manual=cfg.manual,
                                      root=cfg.root, max_steps=cfg.max_steps, mc_prob=cfg.mc_prob)
        obs, _ = self.env.reset()
        self.history = FrameHistory(cfg.n_envs)
        self.frames = self.history.reset(frame(obs))
        self.rows = table.rows(obs["manual"])
        self.episode_return = np.zeros(cfg.n_envs)

    @torch.no_grad()
    def collect(self, model: Emma, teacher: Emma | None) -> Rollout:
        t_len, n, device = self.cfg.rollout_steps, self.cfg.n_envs, model.device
        buf = Rollout(np.zeros((t_len, *self.frames.shape), dtype=np.uint8),
                      torch.zeros((t_len, *self.rows.shape), dtype=torch.long),
                      torch.zeros((t_len, n), dtype=torch.long), torch.zeros((t_len, n)), np.zeros((t_len, n)),
                      np.zeros((t_len, n)), np.zeros((t_len, n)),
                      torch.zeros((t_len, n, model.feature_dim)) if teacher is not None else None)
        for t in range(t_len):
            o = policy_obs(self.frames, self.rows, device)
            logits, value = model(o)
            dist = torch.distributions.Categorical(logits=logits)
            action = dist.sample()
            buf.frames[t], buf.rows[t], buf.actions[t] = self.frames, self.rows, action.cpu()
            buf.logp[t], buf.values[t] = dist.log_prob(action).cpu(), value.cpu().numpy()
            if buf.teacher is not None and teacher is not None:
                buf.teacher[t] = teacher.features(o).cpu()
            obs, reward, done, _, info = self.env.step(action.cpu().numpy())
            buf.rewards[t], buf.dones[t] = reward, done
            self.episode_return += reward
            ended = np.flatnonzero(done)
            buf.episode_returns += self.episode_return[ended].tolist()
            buf.episode_wins += info["won"][ended].tolist()
            self.episode_return[ended] = 0.0
            self.frames = self.history.push(frame(obs), done)
            if ended.size:
                self.rows = self.rows.clone()
                self.rows[torch.from_numpy(ended)] = self.table.rows([obs["manual"][i] for i in ended.tolist()])
        if self.cfg.returns == "gae":
            buf.last_value = model(policy_obs(self.frames, self.rows, device))[1].cpu().numpy()
        return buf


def ppo_update(model: Emma, opt: torch.optim.Optimizer, buf: Rollout, cfg: PPOConfig,
               rng: np.random.Generator) -> dict[str, float]:
    """``cfg.epochs`` passes of ``cfg.minibatches`` gradient steps on L (module docstring); mean of each part."""
    device = model.device
    if cfg.returns == "mc":
        returns, fixed_adv = standardise(mc_returns(buf.rewards, buf.dones, cfg.gamma)), None
    else:
        assert buf.last_value is not None
        adv = gae(buf.rewards, buf.dones, buf.values, buf.last_value, cfg.gamma, cfg.gae_lambda)
        returns = adv + buf.values
        fixed_adv = torch.as_tensor(standardise(adv).reshape(-1), dtype=torch.float32, device=device)
    total = buf.rewards.size
    frames = buf.frames.reshape(total, *buf.frames.shape[2:])
    rows = buf.rows.reshape(total, -1)
    actions, old_logp = buf.actions.reshape(-1).to(device), buf.logp.reshape(-1).to(device)
    returns_t = torch.as_tensor(returns.reshape(-1), dtype=torch.float32, device=device)
    teacher = buf.teacher.reshape(total, -1).to(device) if buf.teacher is not None else None
    sums: dict[str, float] = {}
    count = 0
    for _ in range(cfg.epochs):
        for mb in np.array_split(rng.permutation(total), cfg.minibatches):
            h = model.features(policy_obs(frames[mb], rows[mb], device))  # the policy being optimised
            logits, values = model.heads(h)
            dist = torch.distributions.Categorical(logits=logits)
            j = torch.from_numpy(mb).to(device)
            advantages = (returns_t[j] - values.detach()) if fixed_adv is None else fixed_adv[j]
            loss, stats = ppo_loss(dist.log_prob(actions[j]), old_logp[j], advantages, values, returns_t[j],
                                   dist.entropy(), cfg.clip, cfg.value_coef, cfg.entropy_coef)
            if teacher is not None:
                distil = distil_loss(h, teacher[j])
                loss = loss + cfg.distil_coef * distil
                stats["distil"] = distil.item()
            opt.zero_grad()
            loss.backward()
            if cfg.max_grad_norm > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            opt.step()
            model.zero_padding()
            stats["total"] = loss.item()
            for k, v in stats.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
    return {k: v / count for k, v in sums.items()}


def train_ppo(cfg: PPOConfig, out: str | Path, cache_dir: str | None = None) -> dict[str, Any]:
    """Train with PPO (+ LDD when ``cfg.teacher``) into ``out``; returns ``results.json``'s content
    (``steps``, ``win_rate``, ``final_win_rate``, ...). A finished run of the same configuration is reused."""
    from tqdm.auto import tqdm

    from lexiq.agents.messenger.dynamics import load_teacher

    cap = DEFAULT_MAX_STEPS[cfg.stage] if cfg.max_steps is None else cfg.max_steps
    if cfg.returns == "mc" and cfg.rollout_steps < cap:
        warnings.warn(f"ppo: returns=mc with rollout_steps={cfg.rollout_steps} < the episode cap {cap}: Monte-Carlo "
                      f"returns are cut at the rollout's end, so a reward more than {cfg.rollout_steps} steps ahead "
                      "never reaches the policy; use returns=gae or rollout_steps >= the cap", stacklevel=2)
    record = asdict(cfg) | {"progress": None, "init_stamp": _file_stamp(cfg.init_from),
                            "teacher_stamp": _file_stamp(cfg.teacher)}
    done = finished(out, record)
    if done is not None:
        return done
    resume = _resume_state(out, record)
    out = Path(out) if resume is not None else start(out, record)
    resume_path = out / "resume.pt"
    if resume is None:
        resume_path.unlink(missing_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = default_device()
    model = build_policy(cfg, cache_dir).to(device)
    teacher = load_teacher(cfg.teacher, cache_dir).to(device) if cfg.teacher else None
    if teacher is not None and teacher.feature_dim != model.feature_dim:
        raise ValueError(f"teacher {cfg.teacher}: {teacher.feature_dim} features, the policy has {model.feature_dim}")
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    collector = Collector(cfg, model.table)
    log = MetricsLog(out, keep_until=None if resume is None else resume["env_steps"])
    eval_kw = {"epsilon": cfg.eval_epsilon, "manual": cfg.manual, "root": cfg.root, "max_steps": cfg.max_steps}
    curve: dict[str, list[float]] = {"steps": [], "win_rate": [], "eval_return": [], "train_games_win_rate": [],
                                     "select_win_rate": []}

    def run_eval(step: int) -> None:
        r = evaluate(model, cfg.stage, cfg.eval_split, cfg.eval_episodes, **eval_kw)
        curve["steps"].append(step)
        curve["win_rate"].append(r["win_rate"])
        curve["eval_return"].append(r["mean_return"])
        line = {"charts/win_rate": r["win_rate"], "charts/eval_return": r["mean_return"], "charts/env_steps": step}
        if cfg.eval_train_episodes:
            rt = evaluate(model, cfg.stage, cfg.split, cfg.eval_train_episodes, mc_prob=cfg.mc_prob, **eval_kw)
            curve["train_games_win_rate"].append(rt["win_rate"])
            line["charts/train_games_win_rate"] = rt["win_rate"]
        if cfg.select_episodes:
            rs = evaluate(model, cfg.stage, cfg.select_split, cfg.select_episodes, **eval_kw)
            curve["select_win_rate"].append(rs["win_rate"])
            line["charts/select_win_rate"] = rs["win_rate"]
            if selection(curve)["selected_step"] == step:  # this evaluation is the new best: keep this policy
                save_emma(str(out / "best.pt"), model, {"ppo": asdict(cfg), "env_steps": step})
        log.write(step, line)

    def save_resume() -> None:
        state = {"env_steps": env_steps, "elapsed": time.perf_counter() - t0, "eval_seconds": eval_seconds,
                 "curve": curve, "model": model.state_dict(), "optimizer": opt.state_dict(),
                 "torch_rng": torch.get_rng_state(), "numpy_rng": rng.bit_generator.state,
                 "collector": {k: v for k, v in collector.__dict__.items() if k not in ("cfg", "table")}}
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        tmp = resume_path.with_name("resume.pt.tmp")
        torch.save(state, tmp)
        tmp.replace(resume_path)

    if resume is None:
        t0 = time.perf_counter()
        run_eval(0)
        eval_seconds = time.perf_counter() - t0
        env_steps = 0
    else:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        torch.set_rng_state(resume["torch_rng"])
        if "cuda_rng" in resume and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(resume["cuda_rng"])
        rng.bit_generator.state = resume["numpy_rng"]
        collector.__dict__.update(resume["collector"])
        curve = resume["curve"]
        env_steps, eval_seconds = resume["env_steps"], resume["eval_seconds"]
        t0 = time.perf_counter() - resume["elapsed"]
    bar = tqdm(total=cfg.total_steps, initial=env_steps, desc=f"ppo seed {cfg.seed}", disable=not cfg.progress,
               leave=False)
    while env_steps < cfg.total_steps:
        buf = collector.collect(model, teacher)
        means = ppo_update(model, opt, buf, cfg, rng)
        before, env_steps = env_steps, env_steps + buf.rewards.size
        bar.update(buf.rewards.size)
        line = {f"losses/{k}": v for k, v in means.items() if k not in ("clipfrac", "approx_kl")}
        line |= {"charts/clipfrac": means["clipfrac"], "charts/approx_kl": means["approx_kl"],
                 "charts/env_steps": env_steps,
                 "charts/sps": env_steps / max(time.perf_counter() - t0 - eval_seconds, 1e-9)}
        if buf.episode_wins:
            line |= {"charts/train_win_rate": float(np.mean(buf.episode_wins)),
                     "charts/episode_return": float(np.mean(buf.episode_returns))}
        log.write(env_steps, line)
        if env_steps // cfg.eval_every > before // cfg.eval_every or env_steps >= cfg.total_steps:
            e0 = time.perf_counter()
            run_eval(env_steps)
            eval_seconds += time.perf_counter() - e0
            bar.set_postfix(win=f"{curve['win_rate'][-1]:.2f}")
            if env_steps < cfg.total_steps:
                save_resume()
    bar.close()
    save_emma(str(out / "checkpoint.pt"), model.cpu(), {"ppo": asdict(cfg)})
    results = {**curve, "final_win_rate": curve["win_rate"][-1], "best_win_rate": max(curve["win_rate"]),
               **selection(curve), "env_steps": env_steps, "train_seconds": time.perf_counter() - t0,
               "eval_seconds": eval_seconds, "eval_split": cfg.eval_split, "eval_episodes": cfg.eval_episodes}
    write_results(out, results)
    resume_path.unlink(missing_ok=True)
    return results


def selection(curve: dict[str, list[float]]) -> dict[str, Any]:
    """``selected_step``, ``selected_win_rate`` and ``selected_curve`` (module docstring) of a run's curve; empty
    without validation evaluations. The earliest evaluation with the highest validation win rate is kept."""
    val = curve.get("select_win_rate") or []
    if not val:
        return {}
    kept, best, chosen = [], -1.0, 0
    for i, v in enumerate(val):
        if v > best:
            best, chosen = v, i
        kept.append(chosen)
    return {"selected_step": curve["steps"][chosen], "selected_win_rate": curve["win_rate"][chosen],
            "selected_curve": [curve["win_rate"][k] for k in kept]}


def _resume_state(out: str | Path, record: dict[str, Any]) -> dict[str, Any] | None:
    """The ``resume.pt`` of an interrupted run of ``record`` in ``out`` (same ``config.json``), else None."""
    from lexiq.train import TrainError

    path = Path(out) / "resume.pt"
    if not same_config(out, record) or not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same one-line message
        raise TrainError(f"{path}: unreadable resume checkpoint ({type(exc).__name__}); delete it to start the run "
                         "over") from exc
