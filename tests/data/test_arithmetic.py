"""The generated arithmetic task: every reference answer is right, the solutions take several forms, and the
episodes use the gsm8k rendering."""

import re

from lexiq.data.arithmetic import arithmetic_episodes, arithmetic_problems
from lexiq.evaluation.gsm8k import extract_answer


def test_answers_are_right_and_solutions_diverse():
    problems = arithmetic_problems(300, seed=3)
    firsts = set()
    for p in problems:
        a, b, c = map(int, re.search(r"has (\d+) .* gets (\d+) more and gives away (\d+)", p["question"]).groups())
        assert extract_answer(p["answer"]) == str(a + b - c) and a + b - c >= 0
        for expr, value in re.findall(r"<<([0-9+\-]+)=(\d+)>>", p["answer"]):  # every calculator step is right
            assert eval(expr) == int(value)  # noqa: S307 (digits and +/- only)
        firsts.add(p["answer"].split("=")[0].split()[-1] if "gets" in p["answer"] else p["answer"][:4])
    assert len({p["answer"].count("\n") for p in problems}) >= 2 and len(firsts) >= 3
    assert arithmetic_problems(5, seed=3) == problems[:5]  # deterministic


def test_episodes_use_the_gsm8k_prompt():
    ep = arithmetic_episodes(2, seed=0, split="test")[1]
    assert ep.turns[0].text.startswith("QUESTION: ") and ep.turns[0].text.endswith("\n\nSOLUTION:")
    assert ep.turns[1].text.startswith(" ") and ep.meta["dataset"] == "arithmetic" and ep.meta["split"] == "test"
