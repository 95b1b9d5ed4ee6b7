"""Agreement metrics, bootstrap and mappings: hand-worked values, agreement with the libraries, grouping rules."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from scipy import stats
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import cohen_kappa_score

from eval.bootstrap import bootstrap_ci, group_rows, resample
from eval.mapping import Mapping, cross_validate, fit, grouped_folds
from eval.metrics import (
    adjacent_agreement,
    agreement,
    cohen_kappa,
    confusion,
    exact_agreement,
    kendall,
    krippendorff_alpha,
    mae,
    mean_bias,
    pearson,
    rmse,
    spearman,
)
from eval.scale import Scale
from grader.errors import InvalidInput


def test_unweighted_kappa_of_a_two_by_two_table_by_hand() -> None:
    # Table (rater A rows, rater B columns): [[20, 5], [10, 15]], n = 50.
    # p_o = (20 + 15) / 50 = 0.7; p_e = (25/50)(30/50) + (25/50)(20/50) = 0.3 + 0.2 = 0.5;
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    a = [0] * 20 + [0] * 5 + [1] * 10 + [1] * 15
    b = [0] * 20 + [1] * 5 + [0] * 10 + [1] * 15
    assert cohen_kappa(a, b, levels=2) == pytest.approx(0.4)


def test_quadratic_weighted_kappa_of_a_small_table_by_hand() -> None:
    # A = [0, 1, 2, 2], B = [0, 2, 2, 1] on 3 categories; weights w_ij = (i - j)^2 / (3 - 1)^2.
    # Observed off-diagonal cells (1,2) and (2,1), each 1/4 of the answers with weight 1/4: sum w*O = 0.5 (counts).
    # Expected E = outer(rows [1,1,2], cols [1,1,2]) / 4; sum w*E = 2(.25*.25) + 2(.5*1) + 2(.5*.25) = 1.375.
    # QWK = 1 - 0.5 / 1.375 = 7/11.
    assert cohen_kappa([0, 1, 2, 2], [0, 2, 2, 1], levels=3, weights="quadratic") == pytest.approx(7 / 11)


def test_qwk_counts_every_step_of_the_declared_scale() -> None:
    # The same ratings on a 5-step scale: unused steps enlarge (k - 1)^2, and sklearn with all labels agrees.
    a, b = [0, 1, 2, 2], [0, 2, 2, 1]
    expected = cohen_kappa_score(a, b, labels=list(range(5)), weights="quadratic")
    assert cohen_kappa(a, b, levels=5, weights="quadratic") == pytest.approx(expected)


def test_kappa_is_undefined_when_everything_is_one_category() -> None:
    assert cohen_kappa([2, 2, 2], [2, 2, 2], levels=5, weights="quadratic") is None
    assert cohen_kappa([], [], levels=5) is None


def test_krippendorff_interval_alpha_by_hand_with_a_missing_rating() -> None:
    # Units (rater 1, rater 2): (1,1), (2,3), (3,3), (missing, 2). The last unit has one rating: not pairable.
    # Pairable values: 1,1,2,3,3,3 (n = 6). Interval distance (c - k)^2.
    # D_o = (1/n) sum_u 1/(m_u - 1) sum_{ordered pairs in u} d = (1/6)(2 * 1) = 1/3.
    # D_e = 1/(n(n-1)) sum over ordered pairs of all values: unordered pairs 1-2: 2x1, 1-3: 6x4, 2-3: 3x1 = 29,
    # ordered 58, so D_e = 58/30. alpha = 1 - D_o/D_e = 1 - (1/3)/(29/15) = 24/29.
    ratings = np.array([[1, 2, 3, np.nan], [1, 3, 3, 2]])
    assert krippendorff_alpha(ratings, "interval") == pytest.approx(24 / 29)


def test_krippendorff_ordinal_alpha_by_hand() -> None:
    # Same data. Frequencies n_1 = 2, n_2 = 1, n_3 = 3; ordinal distance d(c,k) = (sum_{g=c..k} n_g - (n_c+n_k)/2)^2:
    # d(1,2) = (3 - 1.5)^2 = 2.25, d(2,3) = (4 - 2)^2 = 4, d(1,3) = (6 - 2.5)^2 = 12.25.
    # D_o = (1/6)(2 * 4) = 4/3. D_e: unordered 2*2.25 + 6*12.25 + 3*4 = 90, ordered 180, /30 = 6.
    # alpha = 1 - (4/3)/6 = 7/9.
    ratings = np.array([[1, 2, 3, np.nan], [1, 3, 3, 2]])
    assert krippendorff_alpha(ratings, "ordinal") == pytest.approx(7 / 9)


def test_krippendorff_alpha_matches_the_published_four_rater_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", four observers, twelve units, gaps:
    # interval 0.849, ordinal 0.815 (as printed in the paper, three decimals).
    nan = np.nan
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
        ]
    )
    assert krippendorff_alpha(data, "interval") == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha(data, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(data, "interval") == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
    )


def test_krippendorff_alpha_undefined_without_pairs_or_variation() -> None:
    assert krippendorff_alpha(np.array([[1, np.nan], [np.nan, 2]]), "interval") is None
    assert krippendorff_alpha(np.array([[2, 2], [2, 2]]), "interval") is None


def test_correlations_and_errors_by_hand() -> None:
    # x = [1,2,3,4], y = [1,3,2,4]: deviations (-1.5,-.5,.5,1.5) and (-1.5,.5,-.5,1.5); cross products sum to 4,
    # both sums of squares 5: r = 0.8. The values are their own ranks, so rho = 0.8. Kendall: of 6 pairs only
    # (2,3) is discordant: tau = (5 - 1) / 6.
    x, y = [1, 2, 3, 4], [1, 3, 2, 4]
    assert pearson(x, y) == pytest.approx(0.8)
    assert spearman(x, y) == pytest.approx(0.8)
    assert kendall(x, y) == pytest.approx(4 / 6)
    # Differences 0, -1, 2: MAE 1, RMSE sqrt(5/3), bias +1/3.
    assert mae([1, 2, 4], [1, 3, 2]) == pytest.approx(1.0)
    assert rmse([1, 2, 4], [1, 3, 2]) == pytest.approx(math.sqrt(5 / 3))
    assert mean_bias([1, 2, 4], [1, 3, 2]) == pytest.approx(1 / 3)


def test_undefined_correlations_are_none_not_zero() -> None:
    assert pearson([1, 1, 1], [1, 2, 3]) is None
    assert spearman([1, 2], [2, 1]) is None  # two pairs: any correlation would be exactly +-1
    assert kendall([1, 2, 3], [4, 4, 4]) is None


def test_agreement_matches_the_libraries_on_random_scores() -> None:
    rng = np.random.default_rng(3)
    scale = Scale(0, 5, 0.5)
    human = scale.snap(rng.uniform(0, 5, 300))
    grader = scale.snap(np.clip(human + rng.normal(0, 1, 300), 0, 5))
    figures = agreement(grader, human, scale)
    ig, ih = scale.index(grader), scale.index(human)
    assert figures["n"] == 300
    assert figures["pearson"] == pytest.approx(stats.pearsonr(grader, human).statistic)
    assert figures["spearman"] == pytest.approx(stats.spearmanr(grader, human).statistic)
    assert figures["kendall"] == pytest.approx(stats.kendalltau(grader, human).statistic)
    assert figures["qwk"] == pytest.approx(cohen_kappa_score(ig, ih, labels=range(11), weights="quadratic"))
    assert figures["kappa"] == pytest.approx(cohen_kappa_score(ig, ih, labels=range(11)))
    assert figures["exact"] == pytest.approx(np.mean(ig == ih))
    assert figures["adjacent"] == pytest.approx(np.mean(np.abs(ig - ih) <= 1))
    assert figures["rmse"] == pytest.approx(np.sqrt(np.mean((grader - human) ** 2)))


def test_exact_adjacent_and_confusion() -> None:
    assert exact_agreement([0, 1, 2, 4], [0, 2, 2, 2]) == pytest.approx(0.5)
    assert adjacent_agreement([0, 1, 2, 4], [0, 2, 2, 2]) == pytest.approx(0.75)
    assert confusion([0, 1, 1, 2], [0, 2, 2, 2], levels=3) == [[1, 0, 0], [0, 0, 2], [0, 0, 1]]


def test_scale_parsing_and_snapping() -> None:
    scale = Scale.parse("0:5:0.5")
    assert scale.levels == 11 and list(scale.values()[:3]) == [0.0, 0.5, 1.0]
    # 1.25 is 2.5 steps and 1.75 is 3.5 steps: halves round up, to 3 and 4 steps (numpy's round-half-to-even
    # would give 2 and 4), and scores outside the scale clip to its ends.
    assert list(scale.snap([1.25, 1.75, -3, 9])) == [1.5, 2.0, 0.0, 5.0]
    assert scale.on_step(4.5) and not scale.on_step(4.25) and not scale.on_step(5.5)
    for bad in ("0:5", "a:b:c", "5:0:1", "0:5:0", "0:5:2", "0:1000000:0.001"):
        with pytest.raises(InvalidInput):
            Scale.parse(bad)


def test_bootstrap_resamples_whole_questions() -> None:
    groups = np.array(["a", "a", "a", "b", "b", "c"])
    rows_by_group = group_rows(groups)
    assert [list(r) for r in rows_by_group] == [[0, 1, 2], [3, 4], [5]]
    rng = np.random.default_rng(0)
    for _ in range(50):
        rows = resample(rows_by_group, rng)
        drawn = groups[rows]
        # Every group appears with all of its rows, k times each (k >= 0), and as many groups as there are.
        for label, members in zip("abc", rows_by_group, strict=True):
            counts = [int(np.sum(rows == m)) for m in members]
            assert len(set(counts)) == 1
            assert np.sum(drawn == label) == counts[0] * len(members)
        assert sum(int(np.sum(rows == m[0])) for m in rows_by_group) == 3


def test_bootstrap_interval_is_reproducible_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(30), 10)
    x = rng.normal(size=300)
    y = x + rng.normal(size=300)

    def statistic(rows: np.ndarray) -> dict[str, float | None]:
        return {"pearson": pearson(x[rows], y[rows]), "undefined": None}

    first = bootstrap_ci(groups, statistic, resamples=300, seed=11)
    again = bootstrap_ci(groups, statistic, resamples=300, seed=11)
    assert first == again
    low, high = first["pearson"] or (0.0, 0.0)
    assert low < (pearson(x, y) or 0) < high and high - low < 0.4
    assert first["undefined"] is None  # never defined: no interval rather than a made-up one


def test_grouped_folds_never_split_a_question() -> None:
    groups = np.repeat([f"q{k}" for k in range(12)], [3, 5, 2, 8, 1, 4, 6, 2, 3, 7, 2, 5])
    folds = grouped_folds(groups, 5)
    assert len(folds) == 5
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == list(range(groups.size))  # every answer is tested exactly once
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])


def test_out_of_fold_mapping_never_sees_its_question() -> None:
    # Every question has raw 0.5; question q0's humans say 5, all others say 1. A mapping fitted with q0 in its
    # training data would lift q0 above 1; out-of-fold, q0 gets what the other questions taught: 1.
    groups = np.repeat(["q0", "q1", "q2", "q3", "q4"], 4)
    raw = np.full(20, 0.5)
    gold = np.where(groups == "q0", 5.0, 1.0)
    predicted, _ = cross_validate(raw, gold, groups, Scale(0, 5, 1), "isotonic", 5)
    assert list(predicted[groups == "q0"]) == [1.0] * 4


def test_isotonic_mapping_is_monotone_snapped_and_equals_sklearn() -> None:
    rng = np.random.default_rng(2)
    raw = rng.uniform(0, 1, 400)
    gold = np.clip(5 * raw**2 + rng.normal(0, 0.7, 400), 0, 5)
    scale = Scale(0, 5, 0.5)
    mapping = fit(raw, gold, scale, "isotonic")
    grid = np.linspace(-0.1, 1.1, 500)
    mapped = mapping.apply_many(grid)
    assert np.all(np.diff(mapped) >= 0)
    assert set(np.round(mapped * 2, 9)) <= {float(k) for k in range(11)}  # every value on a 0.5 step
    reference = IsotonicRegression(y_min=0, y_max=5, out_of_bounds="clip").fit(raw, gold).predict(grid)
    assert np.allclose(mapping.continuous(grid), reference)
    assert Mapping.from_dict(mapping.to_dict()).apply_many(grid) == pytest.approx(mapped, abs=1e-5)


def test_linear_mapping_never_inverts_the_grader() -> None:
    scale = Scale(1, 10, 1)
    rising = fit([0.0, 0.5, 1.0], [2.0, 5.0, 8.0], scale, "linear")
    assert rising.x == (0.0, 1.0) and rising.y == pytest.approx((2.0, 8.0))
    assert rising.apply(0.25) == 4.0  # 3.5 snaps up to 4
    falling = fit([0.0, 0.5, 1.0], [9.0, 5.0, 1.0], scale, "linear")
    assert falling.y == pytest.approx((5.0, 5.0))  # flat at the mean rather than decreasing
    with pytest.raises(ValueError, match="non-decreasing"):
        Mapping("linear", scale, (0.0, 1.0), (5.0, 2.0))
