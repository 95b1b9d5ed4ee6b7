"""The whole bank discriminates under the stage-1 scorer with the real model (issue: rubric quality check)."""

from __future__ import annotations

import pytest

from eval.rubric_quality import MIN_BANK_AUC, auc, check_bank, format_report
from grader.pipeline import Grader
from rubrics.loader import RubricBank


def test_auc_hand_worked() -> None:
    # Positives {0.9, 0.5}, negatives {0.5, 0.1}: pairs (0.9>0.5), (0.9>0.1), (0.5=0.5 -> half), (0.5>0.1)
    # = 3.5 of 4 pairs -> 0.875.
    assert auc([0.9, 0.5], [0.5, 0.1]) == pytest.approx(0.875)
    assert auc([0.2], [0.3, 0.4]) == 0.0
    assert auc([0.7], []) == 1.0


def test_bank_discriminates(grader: Grader, bank: RubricBank) -> None:
    report = check_bank(list(bank), grader.scorer)
    assert len(report.rubrics) == len(bank)
    assert report.bank_auc >= MIN_BANK_AUC, format_report(report)
    assert report.failing == [], format_report(report)
