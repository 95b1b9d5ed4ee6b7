"""Independent recomputation of the exact answers (and quoted numbers) in rubrics/bank/sampling.

Only 01-shirts-and-pants has an ``answer``; the other tests check numbers that key points state
(sample sizes in 07, per-month and per-user quotas in 06), so a wrong figure cannot slip into a rubric.
"""

from __future__ import annotations

import itertools
import math

from scipy import stats

from rubrics import BANK_DIR, load_rubric_file


def _rubric(name: str):
    return load_rubric_file(BANK_DIR / f"sampling/{name}.yaml")


def _point(rubric, point_id: str) -> str:
    return next(p.text for p in rubric.key_points if p.id == point_id)


def test_01_shirts_and_pants() -> None:
    ans = _rubric("01-shirts-and-pants").answer
    assert ans is not None
    shirts = [f"s{i}" for i in range(6)]
    pants = [f"p{i}" for i in range(4)]
    outfits = {(frozenset(pair), p) for pair in itertools.combinations(shirts, 2) for p in pants}
    assert len(outfits) == math.comb(6, 2) * math.comb(4, 1) == 60
    assert abs(len(outfits) - float(ans.value)) <= ans.tolerance
    # The ordered-picks misconception counts each shirt pair twice.
    assert len(list(itertools.permutations(shirts, 2))) * len(pants) == 120


def _n_for_proportion(margin: float, p: float = 0.5, confidence: float = 0.95) -> int:
    z = stats.norm.ppf(0.5 + confidence / 2)
    return math.ceil(z**2 * p * (1 - p) / margin**2)


def test_07_label_audit_sample_sizes() -> None:
    r = _rubric("07-label-quality-audit")
    assert r.answer is None  # the count depends on the chosen precision; the key points quote worked cases
    overall = _n_for_proportion(0.05)
    per_annotator = _n_for_proportion(0.10)
    assert overall == 385 and "385" in _point(r, "sample-size-formula")
    assert per_annotator == 97 and "97" in _point(r, "per-annotator-size")
    total = 20 * per_annotator
    assert abs(total - 2000) <= 100 and "2,000" in _point(r, "per-annotator-size")
    assert abs(total / 100_000 - 0.02) < 0.001
    # With ~100 labels the worst-case 95% margin is indeed about 10 points.
    assert abs(1.96 * math.sqrt(0.25 / 100) - 0.098) < 1e-9


def test_06_reddit_quotas() -> None:
    r = _rubric("06-sample-reddit-comments")
    assert round(100_000 / 24 / 1000, 1) == 4.2 and "4.2K" in _point(r, "stratify-time")
    assert 100_000 / 10_000 == 10 and "10 comments per user" in _point(r, "cap-per-user")
