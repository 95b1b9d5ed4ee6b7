"""Independent recomputation of every exact answer in rubrics/bank/vectors and rubrics/bank/matrices.

Each test computes the value from scratch (exact arithmetic with fractions, brute force, or a direct
construction) and checks it against the rubric's ``answer.value`` within the rubric's tolerance. Formula
answers are evaluated on concrete inputs and compared with a computation that does not use the formula.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import optimize

from rubrics import BANK_DIR, load_rubric_file


def _answer(name: str):
    return load_rubric_file(BANK_DIR / f"{name}.yaml").answer


def _close(computed, answer, value=None) -> bool:
    """Elementwise |computed - value| <= tolerance (a hair of float slack so tolerance 0 works on floats)."""
    expected = np.asarray(answer.value if value is None else value, dtype=float)
    got = np.asarray(computed, dtype=float)
    return got.shape == expected.shape and bool(np.all(np.abs(got - expected) <= answer.tolerance + 1e-9))


def _exact_det(rows: list[list[Fraction]]) -> Fraction:
    """Determinant by cofactor expansion along the first row, in exact arithmetic (no numpy)."""
    if len(rows) == 1:
        return rows[0][0]
    total = Fraction(0)
    for j, a in enumerate(rows[0]):
        if a:
            minor = [r[:j] + r[j + 1 :] for r in rows[1:]]
            total += (-1) ** j * a * _exact_det(minor)
    return total


def _frac(m) -> list[list[Fraction]]:
    return [[Fraction(x) for x in row] for row in m]


# ----------------------------------------------------------------------------------------------- vectors


def test_vectors_02_unit_vector_max_dot() -> None:
    ans = _answer("vectors/02-unit-vector-max-dot")
    u = np.array([3.0, -4.0, 12.0])  # ||u|| = 13
    v_formula = eval(ans.value, {"norm": np.linalg.norm}, {"u": u})

    # Independent: maximize u·v over the unit sphere (spherical coordinates, many random starts).
    def neg_dot(angles: np.ndarray) -> float:
        th, ph = angles
        v = np.array([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
        return -float(u @ v)

    rng = np.random.default_rng(0)
    best = min(
        (
            optimize.minimize(
                neg_dot,
                rng.uniform([0, 0], [np.pi, 2 * np.pi]),
                method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 1e-12},
            )
            for _ in range(10)
        ),
        key=lambda r: r.fun,
    )
    th, ph = best.x
    v_opt = np.array([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
    assert _close(v_formula, ans, value=v_opt)
    assert math.isclose(np.linalg.norm(v_formula), 1.0)
    assert math.isclose(-best.fun, 13.0, abs_tol=1e-6)  # the maximum value is ||u||
    # 2-D brute force on a fine grid of angles: u = [3, 4] gives v = [0.6, 0.8].
    u2 = np.array([3.0, 4.0])
    t = np.linspace(0, 2 * np.pi, 2_000_001)
    grid = np.stack([np.cos(t), np.sin(t)], axis=1)
    v_grid = grid[np.argmax(grid @ u2)]
    assert _close(eval(ans.value, {"norm": np.linalg.norm}, {"u": u2}), ans, value=v_grid)


def test_vectors_03_outer_product() -> None:
    ans = _answer("vectors/03-outer-product")
    a, b = [3, 2, 1], [-1, 0, 1]
    outer = [[ai * bj for bj in b] for ai in a]
    assert _close(outer, ans)
    # The dot-product misconception (a scalar, -2) is a different object.
    assert sum(ai * bi for ai, bi in zip(a, b, strict=True)) == -2


# ---------------------------------------------------------------------------------------------- matrices


def test_matrices_04_determinant_row_scaling() -> None:
    ans = _answer("matrices/04-determinant-row-scaling")
    rng = np.random.default_rng(4)
    for n in (2, 3, 4):
        a = rng.integers(-5, 6, size=(n, n)).tolist()
        det_a = _exact_det(_frac(a))
        for t in (Fraction(-5, 2), Fraction(0), Fraction(3)):
            for r in range(n):
                scaled = _frac(a)
                scaled[r] = [t * x for x in scaled[r]]
                formula = eval(ans.value, {"det": lambda m: _exact_det(_frac(m))}, {"t": t, "A": a})
                assert formula == _exact_det(scaled)
                assert _close(float(formula), ans, value=float(_exact_det(scaled)))
        # Scaling every row (the whole matrix) gives t^n det(A), the factor for tA, not for one row.
        t = Fraction(3)
        assert _exact_det([[t * x for x in row] for row in _frac(a)]) == t**n * det_a


def test_matrices_05_eigenvalues_trace_det() -> None:
    ans = _answer("matrices/05-eigenvalues-trace-det")
    eig = [3, 3, 2, -1]
    trace, det = sum(eig), math.prod(eig)
    assert _close([trace, det], ans)
    # Check on actual 4x4 matrices with these eigenvalues: a diagonalizable one and one with a
    # Jordan block for the repeated eigenvalue 3 (not diagonalizable), both disguised by a random similarity.
    rng = np.random.default_rng(5)
    p = rng.normal(size=(4, 4))
    diag = np.diag(eig).astype(float)
    jordan = diag.copy()
    jordan[0, 1] = 1.0
    for core in (diag, jordan):
        m = p @ core @ np.linalg.inv(p)
        assert _close([np.trace(m), np.linalg.det(m)], ans, value=[trace, det])
    assert np.linalg.matrix_rank(jordan - 3 * np.eye(4)) == 3  # eigenvalue 3 has one eigenvector there
    # The distinct-eigenvalues misconception gives (4, -6), which must not pass.
    assert not _close([3 + 2 - 1, 3 * 2 * -1], ans)


def test_matrices_06_singular_matrix_determinant() -> None:
    ans = _answer("matrices/06-singular-matrix-determinant")
    m = [[1, 4, -2], [-1, 3, 2], [3, 5, -6]]
    det = _exact_det(_frac(m))
    assert _close(float(det), ans) and det == 0
    cols = list(zip(*m, strict=True))
    assert [-2 * x for x in cols[0]] == list(cols[2])  # column 3 = -2 * column 1
    assert [2 * a - b for a, b in zip(m[0], m[1], strict=True)] == m[2]  # row 3 = 2 * row 1 - row 2
    assert np.linalg.matrix_rank(np.array(m, dtype=float)) == 2
    assert (np.array(m) @ np.array([2, 0, 1]) == 0).all()  # null-space vector named in the rubric


def test_matrices_08_solve_ax_b() -> None:
    ans = _answer("matrices/08-solve-ax-b")
    rng = np.random.default_rng(8)

    def formula(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return eval(ans.value, {"pinv": np.linalg.pinv}, {"A": a, "b": b})

    # Square and invertible: the unique solution.
    a = rng.normal(size=(4, 4))
    b = rng.normal(size=4)
    assert _close(formula(a, b), ans, value=np.linalg.solve(a, b))
    # Tall, full column rank: least squares via the normal equations.
    a = rng.normal(size=(7, 3))
    b = rng.normal(size=7)
    assert _close(formula(a, b), ans, value=np.linalg.solve(a.T @ a, a.T @ b))
    # Wide, full row rank: minimum-norm exact solution A^T (A A^T)^{-1} b.
    a = rng.normal(size=(3, 6))
    b = rng.normal(size=3)
    x_min = a.T @ np.linalg.solve(a @ a.T, b)
    assert _close(formula(a, b), ans, value=x_min)
    assert np.allclose(a @ formula(a, b), b)
    # Rank-deficient (rank 2, 5x4): minimum-norm least squares, found by minimizing the residual and then
    # the norm within the solution set (project out the null space), without a pseudoinverse.
    a = rng.normal(size=(5, 2)) @ rng.normal(size=(2, 4))
    b = rng.normal(size=5)
    x_ls = optimize.least_squares(lambda x: a @ x - b, np.ones(4), xtol=1e-15, ftol=1e-15, gtol=1e-15).x
    _, s, vt = np.linalg.svd(a)
    null = vt[np.sum(s > 1e-10) :]
    x_ls = x_ls - null.T @ (null @ x_ls)
    assert _close(formula(a, b), ans, value=x_ls)


def test_matrices_14_jacobian_shape() -> None:
    ans = _answer("matrices/14-jacobian-shape")
    n, m, d = 3, 2, 5
    rng = np.random.default_rng(14)
    w = rng.normal(size=(d, m))
    x = rng.normal(size=(n, d))
    # Build dy/dx entry by entry: perturb each x[k, c] and record the change of every y[i, j].
    jac = np.zeros((n, m, n, d))
    for k in range(n):
        for c in range(d):
            e = np.zeros_like(x)
            e[k, c] = 1.0
            jac[:, :, k, c] = (x + e) @ w - x @ w
    assert tuple(eval(ans.value, {}, {"n": n, "m": m, "d": d})) == jac.shape
    assert ans.tolerance == 0
    # Structure claimed in the rubric: dy_ij/dx_kl = delta_ik w_lj, block-diagonal with blocks w^T.
    for i in range(n):
        for k in range(n):
            block = jac[i, :, k, :]
            assert np.allclose(block, w.T if i == k else 0)
    assert jac.reshape(n * m, n * d).shape == (n * m, n * d)
    assert np.count_nonzero(np.abs(jac) > 1e-12) == n * m * d
