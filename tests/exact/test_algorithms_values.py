"""Recompute the values quoted by the algorithms and reinforcement-learning rubrics.

The two reconstructed game-tree questions (reinforcement-learning 04 and 05) quote node values and a pruning
trace; they carry no exact `answer` because the root value 7 is also a leaf of the tree. The tree is parsed
from the reconstructed question text itself, so the text, the key points and the values cannot drift apart.
The algorithms rubrics' reference solutions are executed by tests/test_rubrics.py.
"""

from __future__ import annotations

import math
import re

from rubrics import BANK_DIR, load_rubric_file

_LINE = re.compile(r"^([A-Z]) \((MAX|MIN)\): (children|leaves) (.+)$")


def _load(rel: str):
    return load_rubric_file(BANK_DIR / rel)


def _tree(text: str) -> dict[str, tuple[str, list]]:
    """{node: (MAX|MIN, children)} where children are node names or leaf numbers, from the question text."""
    tree: dict[str, tuple[str, list]] = {}
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if m:
            items = [s.strip() for s in m[4].split(",")]
            tree[m[1]] = (
                m[2],
                [float(s) for s in items] if m[3] == "leaves" else items,
            )
    return tree


def _minimax(tree, node) -> float:
    if not isinstance(node, str):
        return node
    player, children = tree[node]
    values = [_minimax(tree, c) for c in children]
    return max(values) if player == "MAX" else min(values)


def _alphabeta(tree, node, alpha, beta, seen_leaves) -> float:
    """Russell & Norvig fail-soft alpha-beta, children left to right; records every leaf it evaluates."""
    if not isinstance(node, str):
        seen_leaves.append(node)
        return node
    player, children = tree[node]
    if player == "MAX":
        v = -math.inf
        for c in children:
            v = max(v, _alphabeta(tree, c, alpha, beta, seen_leaves))
            if v >= beta:
                return v
            alpha = max(alpha, v)
        return v
    v = math.inf
    for c in children:
        v = min(v, _alphabeta(tree, c, alpha, beta, seen_leaves))
        if v <= alpha:
            return v
        beta = min(beta, v)
    return v


def test_rl04_minimax_values():
    r = _load("reinforcement-learning/04-minimax-values.yaml")
    tree = _tree(r.context.reconstructed_question)
    assert sorted(tree) == list("ABCDEFG")
    values = {n: _minimax(tree, n) for n in tree}
    assert values == {"A": 7, "B": 7, "C": 5, "D": 7, "E": 9, "F": 5, "G": 8}
    # No exact `answer`: the root value 7 is also a leaf, so a numeric check would credit any answer.
    assert r.answer is None
    # The key points and the reference answer state every node's value as "X = max/min(...) = v".
    points = " ".join(p.text for p in r.key_points)
    for node, v in values.items():
        op = "max" if tree[node][0] == "MAX" else "min"
        kids = ", ".join(f"{values[c]:g}" if isinstance(c, str) else f"{c:g}" for c in tree[node][1])
        stated = f"{node} = {op}({kids}) = {v:g}"
        assert stated in points and stated in r.reference_answer, stated


def test_rl05_alpha_beta_trace():
    r = _load("reinforcement-learning/05-alpha-beta-pruning.yaml")
    tree = _tree(r.context.reconstructed_question)
    q4 = _load("reinforcement-learning/04-minimax-values.yaml")
    assert tree == _tree(q4.context.reconstructed_question)  # same tree as in 04
    seen: list[float] = []
    root = _alphabeta(tree, "A", -math.inf, math.inf, seen)
    assert root == _minimax(tree, "A") == 7  # pruning never changes the root value
    assert r.answer is None  # a trace, not one number; the leaf 7 would satisfy a numeric check anyway
    assert seen == [4, 7, 9, 5, 1]  # leaf 2 (under E) and G's leaves 3, 8 are pruned
    all_leaves = [x for _, (_, cs) in sorted(tree.items()) for x in cs if not isinstance(x, str)]
    assert len(all_leaves) == 8
    points = {p.id: p.text for p in r.key_points}
    assert "5 of the 8" in points["same-result-fewer-leaves"]
    assert "leaf 2 is pruned" in points["beta-cutoff-at-e"]
    assert "leaves 3 and 8" in points["alpha-cutoff-at-c"]
