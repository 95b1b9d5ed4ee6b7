"""Independent recomputation of every exact answer in rubrics/bank/probability.

Each test computes the value from scratch (closed form with fractions, brute force, or a seeded simulation)
and checks it against the rubric's ``answer.value`` within the rubric's tolerance.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
from scipy import integrate, optimize, stats

from rubrics import BANK_DIR, load_rubric_file


def _answer(name: str):
    return load_rubric_file(BANK_DIR / f"probability/{name}.yaml").answer


def _close(computed: float, answer) -> bool:
    # A hair of float slack so a tolerance of 0 still compares float computations of exact values.
    return abs(float(computed) - float(answer.value)) <= answer.tolerance + 1e-12


def _percent_forms_ok(answer, alternatives: tuple[float, ...] = ()) -> None:
    """Every accepted number is the percentage form (rounded) or a documented alternative."""
    for a in answer.accept:
        as_percent = abs(a - 100 * float(answer.value)) <= 0.05
        assert as_percent or any(math.isclose(a, alt, abs_tol=0.05) for alt in alternatives), a


def test_01_uniform_point_probability() -> None:
    # No exact-value field: the value 0 would be "found" in any answer that echoes the question's [0, 1]
    # (including the density-as-probability mistake) and missed in answers that write "zero".
    assert _answer("01-uniform-point-probability") is None
    u = stats.uniform(loc=0, scale=1)
    p_point = u.cdf(0.5) - u.cdf(0.5)
    area, _ = integrate.quad(u.pdf, 0.5, 0.5)
    assert p_point == 0 and area == 0


def test_09_crash_next_month() -> None:
    ans = _answer("09-crash-next-month")
    lam_month = 5 / 12
    p = 1 - stats.poisson(lam_month).pmf(0)
    assert _close(p, ans)
    # The alternative models named in the rubric also pass (daily Bernoulli) or are listed in accept.
    daily = 1 - (1 - 5 / 365) ** 30
    assert _close(daily, ans)
    exactly_five = 1 - (11 / 12) ** 5
    assert any(math.isclose(exactly_five, a, abs_tol=ans.tolerance) for a in ans.accept)
    _percent_forms_ok(ans, alternatives=(exactly_five, 100 * exactly_five))
    # The misconception value 5/12 must not pass.
    assert not _close(5 / 12, ans)


def test_10_crash_any_moment() -> None:
    ans = _answer("10-crash-any-moment")
    lam = 5.0  # per year
    # P(crash within dt) = 1 - exp(-lam dt) decreases to 0 as dt -> 0; an exact instant has probability 0.
    probs = [1 - math.exp(-lam * dt) for dt in (1e-2, 1e-4, 1e-6, 1e-8)]
    assert all(a > b for a, b in itertools.pairwise(probs))
    assert probs[-1] < 1e-7
    instant = stats.expon(scale=1 / lam).cdf(0.3) - stats.expon(scale=1 / lam).cdf(0.3)
    assert _close(instant, ans)


def test_11_twenty_correct_predictions() -> None:
    ans = _answer("11-twenty-correct-predictions")
    p = Fraction(90, 100) ** 20
    assert _close(p, ans)
    _percent_forms_ok(ans)


def test_13_two_children() -> None:
    ans = _answer("13-two-children")
    families = list(itertools.product("BG", repeat=2))
    at_least_one_boy = [f for f in families if "B" in f]
    p = Fraction(sum(f == ("B", "B") for f in at_least_one_boy), len(at_least_one_boy))
    assert p == Fraction(1, 3)
    assert _close(p, ans)
    _percent_forms_ok(ans)
    # The specific-child reading gives 1/2, which the numeric check does not accept (it is a key point).
    older_is_boy = [f for f in families if f[0] == "B"]
    assert Fraction(sum(f == ("B", "B") for f in older_is_boy), len(older_is_boy)) == Fraction(1, 2)
    assert not _close(0.5, ans)


def test_14_defective_chip() -> None:
    ans = _answer("14-defective-chip")
    p = Fraction(1, 2) * Fraction(3, 10) + Fraction(1, 2) * Fraction(7, 10)
    assert _close(p, ans)
    _percent_forms_ok(ans)


def test_15_second_chip_good() -> None:
    ans = _answer("15-second-chip-good")
    prior = {"A": Fraction(1, 2), "B": Fraction(1, 2)}
    good = {"A": Fraction(7, 10), "B": Fraction(3, 10)}
    p_both = sum(prior[c] * good[c] ** 2 for c in prior)
    p_first = sum(prior[c] * good[c] for c in prior)
    p = p_both / p_first
    assert p == Fraction(29, 50)
    assert _close(p, ans)
    _percent_forms_ok(ans)


def test_16_rare_disease_bayes() -> None:
    ans = _answer("16-rare-disease-bayes")
    prior, sens, fpr = Fraction(1, 10000), Fraction(99, 100), Fraction(1, 100)
    p = sens * prior / (sens * prior + fpr * (1 - prior))
    assert p == Fraction(99, 10098)
    assert _close(p, ans)
    assert _close(0.0098, ans) and _close(0.0097, ans)
    assert not _close(0.99, ans)
    # The question's own 1% error rates must not count as stating the posterior.
    assert not _close(0.01, ans)


def test_17_two_positive_tests() -> None:
    ans = _answer("17-two-positive-tests")
    prior, sens, fpr = Fraction(1, 10000), Fraction(99, 100), Fraction(1, 100)
    p = sens**2 * prior / (sens**2 * prior + fpr**2 * (1 - prior))
    assert p == Fraction(9801, 19800)
    # Sequential updating gives the same value.
    p1 = sens * prior / (sens * prior + fpr * (1 - prior))
    assert sens * p1 / (sens * p1 + fpr * (1 - p1)) == p
    assert _close(p, ans)
    _percent_forms_ok(ans)
    assert not _close(0.9999, ans)


def test_18_dating_site_match() -> None:
    ans = _answer("18-dating-site-match")
    exact = Fraction(
        sum(math.comb(10, k) * math.comb(40, 10 - k) for k in range(5, 11)),
        math.comb(50, 10),
    )
    assert exact == Fraction(186231017, 10272278170)
    assert _close(exact, ans)
    assert math.isclose(stats.hypergeom(50, 10, 10).sf(4), float(exact), rel_tol=1e-9)
    # Seeded simulation of two random 10-subsets of 50.
    rng = np.random.default_rng(0)
    trials = 200_000
    jin = np.argsort(rng.random((trials, 50)), axis=1)[:, :10]
    shared = (jin < 10).sum(axis=1)  # Jack's adjectives are 0..9 by symmetry
    assert abs((shared >= 5).mean() - float(exact)) < 0.002
    _percent_forms_ok(ans)


def test_20_three_weather_apps() -> None:
    ans = _answer("20-three-weather-apps")
    prior, right = Fraction(1, 2), Fraction(2, 3)
    p = prior * right**3 / (prior * right**3 + (1 - prior) * (1 - right) ** 3)
    assert p == Fraction(8, 9)
    assert _close(p, ans)
    _percent_forms_ok(ans)
    assert not _close(Fraction(26, 27), ans)


def test_21_german_tank() -> None:
    ans = _answer("21-german-tank")
    formula = ans.value
    assert isinstance(formula, str)

    def estimate(x: list[float]) -> float:
        return eval(formula, {"__builtins__": {}}, {"n": len(x), "x": x, "max": max})

    assert math.isclose(estimate([2.0, 7.0, 4.0]), 28 / 3)
    # Unbiased for d, unlike the sample maximum, and with variance d^2 / (n (n + 2)).
    rng = np.random.default_rng(1)
    d, n, trials = 10.0, 5, 100_000
    samples = rng.uniform(0, d, size=(trials, n))
    estimates = np.array([estimate(list(row)) for row in samples])
    assert abs(estimates.mean() - d) < 0.03
    assert abs(samples.max(axis=1).mean() - n * d / (n + 1)) < 0.03
    assert abs(estimates.var() - d**2 / (n * (n + 2))) < 0.1
    assert estimates.var() < (2 * samples.mean(axis=1)).var()


def test_22_expected_days_normal() -> None:
    ans = _answer("22-expected-days-normal")
    p = 0.5 * math.erfc(0.5 / math.sqrt(2))  # P(Z > 0.5)
    expected = sum(t * p * (1 - p) ** (t - 1) for t in range(1, 2000))
    assert math.isclose(expected, 1 / p, rel_tol=1e-12)
    assert _close(expected, ans)
    assert _close(3.2, ans) and _close(3.24, ans)
    assert not _close(1 / p - 1, ans)  # days before the success
    rng = np.random.default_rng(2)
    waits = rng.geometric(p, size=200_000)
    assert abs(waits.mean() - float(ans.value)) < 0.03


def test_23_shared_birthday() -> None:
    ans = _answer("23-shared-birthday")
    others = next(n for n in itertools.count(1) if 1 - Fraction(364, 365) ** n > Fraction(1, 2))
    assert others == 253
    assert _close(others, ans)
    assert list(ans.accept) == [others + 1]  # class size counting you


def test_25_two_consecutive_heads() -> None:
    ans = _answer("25-two-consecutive-heads")
    half = Fraction(1, 2)
    # E0 = 1 + E1/2 + E0/2 and E1 = 1 + E0/2, i.e. A @ [E0, E1] = [1, 1]; solve exactly by Cramer's rule.
    a = [[1 - half, -half], [-half, Fraction(1)]]
    b = [Fraction(1), Fraction(1)]
    det = a[0][0] * a[1][1] - a[0][1] * a[1][0]
    e0 = (b[0] * a[1][1] - a[0][1] * b[1]) / det
    e1 = (a[0][0] * b[1] - b[0] * a[1][0]) / det
    assert (e0, e1) == (6, 4)
    assert _close(e0, ans)
    rng = np.random.default_rng(3)
    total, runs = 0, 50_000
    for _ in range(runs):
        flips, streak = 0, 0
        while streak < 2:
            flips += 1
            streak = streak + 1 if rng.random() < 0.5 else 0
        total += flips
    assert abs(total / runs - 6) < 0.1


def test_27_exponential_mle() -> None:
    ans = _answer("27-exponential-mle")
    formula = ans.value
    assert isinstance(formula, str)
    rng = np.random.default_rng(4)
    x = list(rng.exponential(scale=1 / 2.5, size=40))
    closed = eval(formula, {"__builtins__": {}}, {"n": len(x), "x": x, "sum": sum})

    def neg_loglik(lam: float) -> float:
        return -float(np.sum(stats.expon(scale=1 / lam).logpdf(x)))

    numeric = optimize.minimize_scalar(neg_loglik, bounds=(1e-3, 50), method="bounded", options={"xatol": 1e-10}).x
    assert math.isclose(closed, numeric, rel_tol=1e-6)
    assert math.isclose(closed, 1 / np.mean(x), rel_tol=1e-12)
