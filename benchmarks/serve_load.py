"""Load test of the environment server: many concurrent Wordle sessions for a fixed time, with bad requests mixed in.

Starts ``lexiq env serve wordle --port 0`` as a subprocess (through ``python -m lexiq.serve``, the same code), then
runs ``--sessions`` concurrent sessions (asyncio + httpx) that reset with random seeds and step random answer words
(one in ten an invalid guess) until ``--seconds`` have passed. Every session counts its own steps and compares them
with the length of the server's episode after each game (a difference is a lost or doubled step). A probe task sends
a malformed JSON body, a step to an unknown session, a wrong field type and an oversized body in turn, every
``--probe-every`` seconds; each must get its 4xx (400, 404, 422, 413). Prints a Markdown table (and ``--out`` JSON);
exits with status 1 if any request failed, any step was lost or any probe got another answer.

    python benchmarks/serve_load.py [--sessions 50] [--seconds 60] [--probe-every 0.25] [--out results.json]
    taskset -c 0 python benchmarks/serve_load.py        # server and clients on one core
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Tally:
    requests: int = 0
    failed: int = 0
    steps: int = 0
    games: int = 0
    lost_steps: int = 0
    probes: int = 0
    probes_ok: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.failed += 1
        if len(self.failures) < 10:
            self.failures.append(what)


def start_server(command: list[str]) -> tuple[subprocess.Popen, str]:
    """Start the server; returns it and its URL (read from its first line of output)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    found = re.search(r"http://[^\s]+:\d+", line)
    if not found:
        proc.kill()
        raise SystemExit(f"the server did not start: {line}{proc.stderr.read()}")
    return proc, found.group(0)


async def timed(tally: Tally, client: httpx.AsyncClient, method: str, path: str, **kwargs) -> httpx.Response:
    t0 = time.perf_counter()
    try:
        return await client.request(method, path, **kwargs)
    finally:
        tally.requests += 1
        tally.latencies.append(time.perf_counter() - t0)


async def session_worker(client: httpx.AsyncClient, words: list[str], deadline: float, tally: Tally,
                         seed: int) -> None:
    rng = random.Random(seed)
    try:
        created = await timed(tally, client, "POST", "/sessions", json={})
    except httpx.HTTPError as exc:
        tally.fail(f"create: {type(exc).__name__}")
        return
    if created.status_code != 201:
        tally.fail(f"create: HTTP {created.status_code}")
        return
    sid = created.json()["session_id"]
    while time.monotonic() < deadline:
        try:
            r = await timed(tally, client, "POST", f"/sessions/{sid}/reset", json={"seed": rng.randrange(2**31)})
            if r.status_code != 200:
                tally.fail(f"reset: HTTP {r.status_code} {r.text[:80]}")
                continue
            mine, done = 0, False
            while not done and time.monotonic() < deadline:
                action = rng.choice(words) if rng.random() > 0.1 else "zz" + rng.choice(words)
                r = await timed(tally, client, "POST", f"/sessions/{sid}/step",
                                json={"action": action, "step_index": mine})
                if r.status_code != 200:
                    tally.fail(f"step: HTTP {r.status_code} {r.text[:80]}")
                    break
                mine += 1
                done = r.json()["terminated"]
            r = await timed(tally, client, "GET", f"/sessions/{sid}/episode")
            if r.status_code != 200:
                tally.fail(f"episode: HTTP {r.status_code}")
                continue
            theirs = sum(t["role"] == "agent" for t in r.json()["turns"])
            tally.lost_steps += abs(theirs - mine)
            tally.steps += mine
            tally.games += done
        except httpx.HTTPError as exc:
            tally.fail(f"{type(exc).__name__}: {exc}")
    try:
        await timed(tally, client, "DELETE", f"/sessions/{sid}")
    except httpx.HTTPError as exc:
        tally.fail(f"close: {type(exc).__name__}")


PROBES = (
    ("malformed JSON", 400, {"method": "POST", "path": "/sessions/{sid}/step", "content": b'{"action": "cra'}),
    ("unknown session", 404, {"method": "POST", "path": "/sessions/no-such-session/step", "json": {"action": "a"}}),
    ("wrong type", 422, {"method": "POST", "path": "/sessions/{sid}/step", "json": {"action": 12345}}),
    ("oversized body", 413, {"method": "POST", "path": "/sessions/{sid}/step",
                             "json": {"action": "a" * 200_000}}),
)


async def probe_worker(url: str, deadline: float, every: float, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        sid = (await client.post("/sessions", json={})).json()["session_id"]
        k = 0
        while time.monotonic() < deadline:
            name, status, spec = PROBES[k % len(PROBES)]
            spec = dict(spec)
            method, path = spec.pop("method"), spec.pop("path").format(sid=sid)
            tally.probes += 1
            try:
                r = await client.request(method, path, **spec)
                if r.status_code == status and "error" in r.json():
                    tally.probes_ok += 1
                else:
                    tally.failures.append(f"probe {name}: HTTP {r.status_code} {r.text[:80]}")
            except (httpx.HTTPError, json.JSONDecodeError) as exc:
                tally.failures.append(f"probe {name}: {type(exc).__name__}: {exc}")
            k += 1
            await asyncio.sleep(every)
        await client.delete(f"/sessions/{sid}")


async def run(url: str, sessions: int, seconds: float, probe_every: float, words: list[str]) -> tuple[Tally, float]:
    tally = Tally()
    limits = httpx.Limits(max_connections=sessions + 8, max_keepalive_connections=sessions + 8)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        start = time.monotonic()
        deadline = start + seconds
        await asyncio.gather(*(session_worker(client, words, deadline, tally, seed) for seed in range(sessions)),
                             probe_worker(url, deadline, probe_every, tally))
        elapsed = time.monotonic() - start
    return tally, elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50, help="concurrent sessions")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the sessions step")
    parser.add_argument("--probe-every", type=float, default=0.25, help="seconds between bad-request probes")
    parser.add_argument("--server", default=f"{sys.executable} -m lexiq.serve env serve wordle",
                        help="command that starts the server (gets --port 0 --max-sessions added)")
    parser.add_argument("--out", default=None, help="also write the results here as JSON")
    args = parser.parse_args()
    from lexiq.envs.wordle.game import WordList

    words = list(WordList.resolve("answers").words)
    proc, url = start_server([*args.server.split(), "--port", "0", "--max-sessions", str(args.sessions + 16)])
    try:
        tally, elapsed = asyncio.run(run(url, args.sessions, args.seconds, args.probe_every, words))
        alive = httpx.get(f"{url}/health", timeout=10).json()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    cpu = {"server": resource.getrusage(resource.RUSAGE_CHILDREN), "client": resource.getrusage(resource.RUSAGE_SELF)}
    cpu_s = {k: round(v.ru_utime + v.ru_stime, 1) for k, v in cpu.items()}
    result = {"sessions": args.sessions, "seconds": round(elapsed, 1), "requests": tally.requests,
              "requests_per_s": round(tally.requests / elapsed, 1), "failed": tally.failed,
              "lost_steps": tally.lost_steps, "probes": tally.probes, "probes_4xx": tally.probes_ok,
              "steps": tally.steps, "games": tally.games,
              "latency_ms": {q: round(1000 * percentile(tally.latencies, p), 1)
                             for q, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
              "cpu_seconds": cpu_s, "server_after": alive, "failures": tally.failures}
    print("| sessions | seconds | requests | requests/s | failed | lost steps | probes answered 4xx |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {result['sessions']} | {result['seconds']:g} | {result['requests']} | {result['requests_per_s']:g} | "
          f"{result['failed']} | {result['lost_steps']} | {tally.probes_ok}/{tally.probes} |")
    lat = result["latency_ms"]
    print(f"\n{tally.steps} steps in {tally.games} finished games; latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, "
          f"p99 {lat['p99']} ms; CPU seconds: server {cpu_s['server']}, clients {cpu_s['client']}; server "
          f"afterwards: {alive}")
    for line in tally.failures:
        print(f"  failure: {line}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2)
    ok = tally.failed == 0 and tally.lost_steps == 0 and tally.probes_ok == tally.probes and tally.probes > 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
