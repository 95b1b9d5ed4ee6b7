"""Independent recomputation of the exact answers in the statistics rubrics."""

import math
from fractions import Fraction

import numpy as np
from scipy import stats

from rubrics import BANK_DIR, load_rubric_file


def _rubric(name):
    return load_rubric_file(BANK_DIR / "statistics" / name)


def _close(stated, computed, tol):
    if isinstance(stated, list):
        return len(stated) == len(computed) and all(_close(s, c, tol) for s, c in zip(stated, computed, strict=True))
    return abs(stated - computed) <= tol


def test_02_mean_median_variance():
    r = _rubric("02-mean-median-variance.yaml")
    xs = [1, 5, 3, 2, 4, 4]
    n = len(xs)
    mean = Fraction(sum(xs), n)
    s = sorted(xs)
    median = Fraction(s[n // 2 - 1] + s[n // 2], 2)
    ss = sum((Fraction(x) - mean) ** 2 for x in xs)
    assert mean == Fraction(19, 6) and median == Fraction(7, 2) and ss == Fraction(65, 6)
    pop_var, sample_var = ss / n, ss / (n - 1)
    computed = [float(mean), float(median), float(pop_var), math.sqrt(pop_var)]
    assert _close(r.answer.value, computed, r.answer.tolerance)
    sample = [float(mean), float(median), float(sample_var), math.sqrt(sample_var)]
    assert _close(r.answer.accept, [sample], r.answer.tolerance)
    assert abs(np.var(xs, ddof=1) - float(sample_var)) < 1e-12


def test_06_puppy_confidence_interval():
    r = _rubric("06-puppy-confidence-interval.yaml")
    z = stats.norm.ppf(0.975)
    se = 0.12 / math.sqrt(100)
    assert abs(se - 0.012) < 1e-12
    lo, hi = 1 - z * se, 1 + z * se
    # value = margin of error, accept = the two endpoints (any one of them stated counts).
    assert _close(r.answer.value, z * se, 1e-9)
    assert _close(r.answer.accept, [lo, hi], 1e-9)
    candidates = [r.answer.value, *r.answer.accept]

    def passes(x):
        return any(abs(x - c) <= r.answer.tolerance for c in candidates)

    # The usual rounded forms pass.
    assert all(passes(x) for x in (0.0235, 0.024, 0.976, 1.024))
    # The misconception (no sqrt(n)), the standard error alone, and the 90% or 99% intervals do not.
    for wrong_z in (stats.norm.ppf(0.95), stats.norm.ppf(0.995)):
        assert not any(passes(x) for x in (wrong_z * se, 1 - wrong_z * se, 1 + wrong_z * se))
    assert not any(passes(x) for x in (z * 0.12, 1 - z * 0.12, 1 + z * 0.12, se, 1.0))


def test_07_new_sample_mean_in_old_interval():
    # A new sample mean lands in the old 95% CI about 83% of the time: X2 - X1 ~ N(0, 2 sigma^2 / n).
    p = 2 * stats.norm.cdf(stats.norm.ppf(0.975) / math.sqrt(2)) - 1
    assert abs(p - 0.834) < 0.001
    rng = np.random.default_rng(7)
    m1, m2 = rng.normal(0, 1, (2, 200_000))
    assert abs(np.mean(np.abs(m2 - m1) < 1.96) - p) < 0.005
    # Half-width 0.1 with n = 100 implies a per-puppy sigma of about 0.51 lb.
    assert abs(0.1 * math.sqrt(100) / 1.96 - 0.51) < 0.001


def test_08_sample_median_median_unbiased_but_biased():
    rng = np.random.default_rng(8)
    # Beta(2, 5) on [0, 1]: right-skewed, true median from scipy.
    m = stats.beta.median(2, 5)
    meds = np.median(rng.beta(2, 5, (200_000, 5)), axis=1)
    assert abs(np.mean(meds <= m) - 0.5) < 0.005  # median-unbiased for odd n
    assert np.mean(meds) - m > 0.003  # but mean-biased at n = 5
    # P(Binomial(n, 1/2) >= (n + 1)/2) = 1/2 for odd n.
    for n in (1, 3, 5, 11):
        assert abs(stats.binom.sf((n + 1) // 2 - 1, n, 0.5) - 0.5) < 1e-12


def test_09_correlation_significance_claims():
    def p_value(r, n):
        t = r * math.sqrt(n - 2) / math.sqrt(1 - r * r)
        return 2 * stats.t.sf(t, n - 2)

    assert p_value(0.3, 30) > 0.05
    assert p_value(0.3, 1000) < 1e-10


def test_10_puppy_z_score():
    r = _rubric("10-puppy-z-score.yaml")
    z = (Fraction(11, 10) - 1) / Fraction(12, 100)
    assert z == Fraction(5, 6)
    assert _close(r.answer.value, float(z), r.answer.tolerance)
    assert _close(0.83, r.answer.value, r.answer.tolerance)


def test_11_top_ten_percent():
    r = _rubric("11-top-ten-percent.yaml")
    z90 = stats.norm.ppf(0.9)
    assert abs(z90 - 1.2816) < 1e-4
    cutoff = 1 + z90 * 0.12
    assert _close(r.answer.value, cutoff, r.answer.tolerance)
    assert _close(1.15, r.answer.value, r.answer.tolerance)
    # Check by simulation that ~10% of Normal(1, 0.12) puppies exceed the cutoff.
    w = np.random.default_rng(11).normal(1, 0.12, 1_000_000)
    assert abs(np.mean(w > r.answer.value) - 0.10) < 0.002
    # The 1.645 misconception (top 5%) does not pass.
    assert not _close(1 + 1.645 * 0.12, r.answer.value, r.answer.tolerance)


def test_13_coin_fairness():
    r = _rubric("13-coin-fairness-test.yaml")
    # 15 tosses, 10 heads: exact two-sided binomial p-value (symmetric null, so double the upper tail).
    upper = sum(math.comb(15, k) for k in range(10, 16))
    assert upper == 4944
    p15 = Fraction(2 * upper, 2**15)
    assert p15 == Fraction(9888, 32768)
    assert _close(r.answer.value, float(p15), r.answer.tolerance)
    # A stray "0" must not match the accepted all-heads value 2/1024.
    assert not any(abs(0.0 - c) <= r.answer.tolerance for c in [r.answer.value, *r.answer.accept])
    assert abs(stats.binomtest(10, 15, 0.5).pvalue - float(p15)) < 1e-12
    # 10 tosses, all heads.
    p10 = Fraction(2, 2**10)
    assert _close(r.answer.accept, [float(p10)], 1e-12)
    assert _close(0.30, r.answer.value, r.answer.tolerance)
    # Clopper-Pearson interval quoted in the key points.
    ci = stats.binomtest(10, 15).proportion_ci(method="exact")
    assert abs(ci.low - 0.38) < 0.005 and abs(ci.high - 0.88) < 0.005


def test_21_sample_size_worked_example():
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    p1, p2 = 0.02, 0.025
    n = (za + zb) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p2 - p1) ** 2
    assert abs(n - 13_800) < 100
    assert round(n * p1) == 276 and round(n * p2) == 345
    # The "16 p(1-p) / delta^2" rule of thumb matches (za + zb)^2 ≈ 7.85 ≈ 16 / 2.
    assert abs((za + zb) ** 2 - 7.85) < 0.01


def test_23_chance_stock_correlation():
    r = _rubric("23-chance-stock-correlation.yaml")
    n_months, n_stocks, thresh = 24, 10_000, 0.8
    t = thresh * math.sqrt(n_months - 2) / math.sqrt(1 - thresh**2)
    assert abs(t - 6.25) < 0.01
    p_pair = stats.t.sf(t, n_months - 2)
    assert abs(p_pair - 1.35e-6) < 0.05e-6
    pairs = math.comb(n_stocks, 2)
    assert pairs == 49_995_000
    expected = pairs * p_pair
    assert abs(expected - 68) < 1
    p_at_least_one = 1 - math.exp(-expected)  # Poisson approximation
    assert p_at_least_one > 1 - 1e-12
    # No exact-value field: "≈ 1" cannot be checked by number (every answer states a "1" somewhere).
    assert r.answer is None

    # Brute-force check: simulate independent normal returns and count pairs with r > 0.8.
    rng = np.random.default_rng(23)
    x = rng.standard_normal((n_stocks, n_months))
    x -= x.mean(axis=1, keepdims=True)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x = x.astype(np.float32)
    count = 0
    for start in range(0, n_stocks, 1000):
        block = x[start : start + 1000] @ x.T
        rows = np.arange(start, min(start + 1000, n_stocks))[:, None]
        cols = np.arange(n_stocks)[None, :]
        count += int(np.count_nonzero((block > thresh) & (cols > rows)))
    assert count >= 1
    assert abs(count - expected) < 5 * math.sqrt(expected)
