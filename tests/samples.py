"""Crafted census rows the tests share."""

from __future__ import annotations

import random

GOOD_ROWS = [
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, "
    "Male, 2174, 0, 40, United-States, <=50K",
    "50, Self-emp-not-inc, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, Husband, "
    "White, Male, 0, 0, 13, United-States, >50K",
    "38, ?, 215646, HS-grad, 9, Divorced, ?, Not-in-family, Black, Female, 0, 0, 40, ?, <=50K.",
]


# Values that sit on the edge of what the fast path may take: each one either matches it and
# means the same to the rules, or is left to the rules.
TRICKY = [
    "?", "", " ", " ?", "05", "+5", "-0", "1e2", "1.0", "0", "120", "121", "16", "17", "1_000",
    "inf", "nan", "100000000", "100000001", "10000000", "10000001", "private", "Private ",
    " Private", "Private\t", "State-gov", "Husband", "<=50K", "<=50K.", "<=50K..", ">50K.",
    "\ufeff39", "Bach\x0celors", "\ufffd", "Adm,clerical", "1,5", "168", "169",
]  # fmt: skip


def fuzzed_lines(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    rows = [row.split(", ") for row in GOOD_ROWS]
    out = []
    for _ in range(count):
        fields = list(rng.choice(rows))
        for _ in range(rng.choice([0, 0, 1, 2])):
            fields[rng.randrange(len(fields))] = rng.choice(TRICKY)
        separators = [", "] * (len(fields) - 1)
        if rng.random() < 0.3:
            separators[rng.randrange(len(separators))] = rng.choice([",", " , ", ",  ", ",\t"])
        line = fields[0] + "".join(s + f for s, f in zip(separators, fields[1:], strict=True))
        if rng.random() < 0.05:
            line = rng.choice([" ", ""]) + line + rng.choice([" ", ", x", ""])
        out.append(line)
    return out
