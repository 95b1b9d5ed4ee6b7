"""Independent recomputation of the exact answers in the complexity and dimensionality-reduction rubrics.

Only complexity/01 carries an `answer`; the reference solutions of the coding-style rubrics in the same
topic (complexity/02, complexity/13) are executed here too, since they back claims made in the key points.
"""

from __future__ import annotations

import itertools

import numpy as np

from rubrics import BANK_DIR, load_rubric_file


def _all_orders(shapes: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """(scalar multiplications, parenthesization) for every way to multiply the chain, by brute force."""
    names = [chr(ord("A") + i) for i in range(len(shapes))]

    def go(i: int, j: int) -> list[tuple[int, str, tuple[int, int]]]:
        if i == j:
            return [(0, names[i], shapes[i])]
        out = []
        for k in range(i, j):
            for cl, pl, (p, q) in go(i, k):
                for cr, pr, (q2, r) in go(k + 1, j):
                    assert q == q2
                    out.append((cl + cr + p * q * r, f"({pl}{pr})", (p, r)))
        return out

    return [(c, s) for c, s, _ in go(0, len(shapes) - 1)]


def test_01_matrix_chain_abc() -> None:
    r = load_rubric_file(BANK_DIR / "complexity/01-matrix-chain-abc.yaml")
    orders = {s: c for c, s in _all_orders([(100, 5), (5, 200), (200, 20)])}
    assert orders == {"(A(BC))": 30_000, "((AB)C)": 500_000}
    best_cost, best_order = min((c, s) for s, c in orders.items())
    assert best_order == "(A(BC))"
    assert r.answer is not None
    assert abs(best_cost - r.answer.value) <= r.answer.tolerance
    # The product is the same either way (associativity); only the cost differs.
    rng = np.random.default_rng(0)
    a, b, c = (
        rng.standard_normal((100, 5)),
        rng.standard_normal((5, 200)),
        rng.standard_normal((200, 20)),
    )
    assert np.allclose((a @ b) @ c, a @ (b @ c))


def _run_reference(rubric_path: str) -> dict:
    r = load_rubric_file(BANK_DIR / rubric_path)
    assert r.reference_solution is not None
    ns: dict = {}
    exec(r.reference_solution.code, ns)
    for check in r.reference_solution.checks:
        assert eval(check, ns), check
    return ns


def test_02_matrix_chain_dp_matches_brute_force() -> None:
    ns = _run_reference("complexity/02-matrix-chain-order.yaml")
    rng = np.random.default_rng(1)
    for _ in range(50):
        dims = [int(v) for v in rng.integers(1, 30, size=int(rng.integers(2, 8)))]
        shapes = list(itertools.pairwise(dims))
        assert ns["matrix_chain_order"](dims)[0] == min(c for c, _ in _all_orders(shapes))
    # The greedy counterexample quoted in the misconception: cheapest product first gives 280, optimum 84.
    assert ns["matrix_chain_order"]([7, 7, 1, 5])[0] == 84
    assert 7 * 1 * 5 + 7 * 7 * 5 == 280


def test_13_vectorized_mask_matches_loop() -> None:
    ns = _run_reference("complexity/13-vectorize-sphere-mask.yaml")
    rng = np.random.default_rng(2)
    for _ in range(5):
        shape = tuple(int(v) for v in rng.integers(1, 9, size=3))
        roi = rng.uniform(-2, 10, size=3)
        radius = float(rng.uniform(0.5, 6))
        vol = np.zeros(shape)
        assert np.array_equal(ns["make_mask"](vol, roi, radius), ns["_loop_mask"](vol, roi, radius) == 1)
