"""A generated arithmetic word-problem task in GSM8K's format, small enough for a from-scratch model on a CPU.

Each problem: someone has ``a`` things, gets ``b`` more and gives away ``c`` (single digits, ``c ≤ a + b``); the
question asks how many are left. The reference solutions are **diverse on purpose**, like human rationales: each
problem's solution is drawn uniformly from equivalent forms (add then subtract; subtract first when ``c ≤ a``;
one expression), all with GSM8K's calculator annotations ``<<expr=value>>`` and the final ``#### N`` line::

    QUESTION: Mia has 7 pens. She gets 5 more and gives away 3. How many pens does Mia have now?

    SOLUTION: 7+5=<<7+5=12>>12
    12-3=<<12-3=9>>9
    #### 9

So a model that imitates the data well can answer correctly in several ways — the setting where IQLearn is
claimed to keep more diversity than MLE at equal accuracy (Wulfmeier et al. 2024). Problems are records
``{"question", "answer"}`` as in GSM8K's JSONL, turned into episodes by :func:`arithmetic_episodes` with the
``gsm8k`` loader's rendering.
"""

from __future__ import annotations

import random

from lexiq.data.episode import Episode

NAMES = ("Mia", "Leo", "Ava", "Sam", "Zoe", "Max", "Ivy", "Ben")
THINGS = ("pens", "apples", "cards", "books", "stones", "shells")


def _solutions(a: int, b: int, c: int, name: str, things: str) -> list[str]:
    s, r = a + b, a + b - c
    forms = [f"{a}+{b}=<<{a}+{b}={s}>>{s}\n{s}-{c}=<<{s}-{c}={r}>>{r}",
             f"{name} gets {b} more: {a}+{b}=<<{a}+{b}={s}>>{s} {things}.\nThen {s}-{c}=<<{s}-{c}={r}>>{r}.",
             f"{a}+{b}-{c}=<<{a}+{b}-{c}={r}>>{r}"]
    if c <= a:
        d = a - c
        forms.append(f"{a}-{c}=<<{a}-{c}={d}>>{d}\n{d}+{b}=<<{d}+{b}={r}>>{r}")
    return [f"{f}\n#### {r}" for f in forms]


def arithmetic_problems(n: int, seed: int = 0, max_operand: int = 9) -> list[dict[str, str]]:
    """``n`` problems (GSM8K records) from ``random.Random(seed)``; operands in ``1..max_operand``."""
    if n < 0 or max_operand < 1:
        raise ValueError(f"arithmetic_problems: n={n}, max_operand={max_operand}; expected n ≥ 0, max_operand ≥ 1")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(1, max_operand), rng.randint(1, max_operand)
        c = rng.randint(1, min(max_operand, a + b))
        name, things = rng.choice(NAMES), rng.choice(THINGS)
        question = (f"{name} has {a} {things}. {name} gets {b} more and gives away {c}. "
                    f"How many {things} does {name} have now?")
        out.append({"question": question, "answer": rng.choice(_solutions(a, b, c, name, things))})
    return out


def arithmetic_episodes(n: int, seed: int = 0, split: str = "train", max_operand: int = 9) -> list[Episode]:
    """The problems of :func:`arithmetic_problems` as one-step episodes in the ``gsm8k`` rendering."""
    from lexiq.data.loaders.gsm8k import problem_episode

    episodes = []
    for i, rec in enumerate(arithmetic_problems(n, seed, max_operand)):
        ep = problem_episode(rec, split, i, chat=False)
        ep.meta["dataset"] = "arithmetic"
        episodes.append(ep)
    return episodes
