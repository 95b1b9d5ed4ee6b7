"""Independent recomputation of the exact answers in the classical-ml rubrics."""

import math
from fractions import Fraction
from itertools import product

import numpy as np

from rubrics import BANK_DIR, load_rubric_file


def _rubric(name):
    return load_rubric_file(BANK_DIR / "classical-ml" / name)


def _close(stated, computed, tol):
    if isinstance(stated, list):
        return len(stated) == len(computed) and all(_close(s, c, tol) for s, c in zip(stated, computed, strict=True))
    return abs(stated - computed) <= tol


def test_03_knn_high_dimensions():
    r = _rubric("03-knn-high-dimensions.yaml")
    d, frac = 10, 0.01
    edge = frac ** (1 / d)
    assert abs(edge**d - frac) < 1e-12
    assert _close(r.answer.value, edge, r.answer.tolerance)
    assert _close(r.answer.accept, [100 * edge], r.answer.tolerance)
    # Monte Carlo: a centred cube of that edge holds about 1% of uniform points.
    rng = np.random.default_rng(0)
    x = rng.random((400_000, d))
    inside = np.all(np.abs(x - 0.5) <= edge / 2, axis=1).mean()
    assert abs(inside - frac) < 0.001
    # The usual rounded form passes; the misconception (edge 0.01) does not.
    assert _close(r.answer.value, 0.63, r.answer.tolerance)
    assert not _close(r.answer.value, 0.01, r.answer.tolerance)


def test_04_knn_regression_prediction():
    r = _rubric("04-knn-regression-prediction.yaml")
    pts = {"A": ((1, 1), 2), "B": ((2, 4), 6), "C": ((4, 1), 5), "D": ((5, 5), 9), "E": ((0, 4), 4)}
    q = (2, 2)
    order = sorted(pts, key=lambda k: math.dist(pts[k][0], q))
    dists = sorted(math.dist(p, q) for p, _ in pts.values())
    assert order == ["A", "B", "C", "E", "D"]
    assert len(set(dists)) == len(dists)  # no ties, so every k is well defined
    preds = [float(Fraction(sum(pts[k][1] for k in order[:n]), n)) for n in (1, 3, 5)]
    assert preds[1] == 13 / 3 and preds[2] == 5.2
    assert _close(r.answer.value, preds, r.answer.tolerance)
    assert _close(r.answer.value, [2, 4.33, 5.2], r.answer.tolerance)


def test_11_tree_information_gain():
    r = _rubric("11-tree-information-gain.yaml")

    def entropy(counts, base=2.0):
        n = sum(counts)
        return -sum(c / n * math.log(c / n, base) for c in counts if c)

    def gini(counts):
        n = sum(counts)
        return 1 - sum((c / n) ** 2 for c in counts)

    parent, left, right = (10, 10), (7, 1), (3, 9)
    assert tuple(a + b for a, b in zip(left, right, strict=True)) == parent
    wl, wr = sum(left) / sum(parent), sum(right) / sum(parent)
    h = entropy(parent)
    ig = h - wl * entropy(left) - wr * entropy(right)
    dg = gini(parent) - wl * gini(left) - wr * gini(right)
    assert abs(dg - 0.1875) < 1e-12
    assert _close(r.answer.value, [h, ig, dg], r.answer.tolerance)
    ig_nats = entropy(parent, math.e) - wl * entropy(left, math.e) - wr * entropy(right, math.e)
    assert _close(r.answer.accept, [[entropy(parent, math.e), ig_nats, dg]], r.answer.tolerance)
    # The unweighted-average misconception gives a different gain.
    wrong = h - (entropy(left) + entropy(right)) / 2
    assert not _close(r.answer.value[1], wrong, r.answer.tolerance)


def test_16_naive_bayes_laplace():
    r = _rubric("16-naive-bayes-laplace.yaml")
    data = [
        ((1, 0), "spam"),
        ((1, 0), "spam"),
        ((0, 0), "spam"),
        ((0, 1), "ham"),
        ((0, 1), "ham"),
        ((1, 1), "ham"),
        ((0, 0), "ham"),
    ]
    x = (1, 1)

    def posterior_spam(alpha):
        scores = {}
        for c in ("spam", "ham"):
            rows = [f for f, y in data if y == c]
            score = Fraction(len(rows), len(data))
            for j, v in enumerate(x):
                count = sum(1 for f in rows if f[j] == v)
                score *= Fraction(count + alpha, len(rows) + 2 * alpha)
            scores[c] = score
        return scores["spam"] / (scores["spam"] + scores["ham"])

    unsmoothed, smoothed = posterior_spam(0), posterior_spam(1)
    assert unsmoothed == 0 and smoothed == Fraction(81, 281)
    assert _close(r.answer.value, [float(unsmoothed), float(smoothed)], r.answer.tolerance)
    # Predicted class with smoothing is "not spam".
    assert smoothed < Fraction(1, 2)


def test_20_precision_recall_f1():
    r = _rubric("20-precision-recall-f1.yaml")
    # Build label vectors and count directly.
    y_true = [1] * 50 + [0] * 950
    y_pred = [1] * 40 + [0] * 10 + [1] * 20 + [0] * 930
    pairs = list(zip(y_true, y_pred, strict=True))
    # product gives (1,1),(1,0),(0,1),(0,0) = TP, FN, FP, TN
    tp, fn, fp, tn = (pairs.count(p) for p in product((1, 0), repeat=2))
    assert (tp, fp, fn, tn) == (40, 20, 10, 930) and sum(y_pred) == 60
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * precision * recall / (precision + recall)
    accuracy = (tp + tn) / len(pairs)
    assert abs(f1 - 8 / 11) < 1e-12
    assert _close(r.answer.value, [precision, recall, f1, accuracy], r.answer.tolerance)
    # The arithmetic-mean misconception does not pass as F1.
    assert not _close(r.answer.value[2], (precision + recall) / 2, r.answer.tolerance)
