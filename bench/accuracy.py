"""Stage-1 accuracy against human graders, out of fold, beside today's ramp and the plain cosine, in one run.

    python bench/accuracy.py [--data FILE=MIN:MAX:STEP ...] [--exemplars K] [--practice FILE]

For each data set (default: ../shared/data/mohler.jsonl on 0:5:0.5 and scientsbank_2way_train.jsonl on 0:1:1):
Pearson, Spearman, QWK and RMSE of

- the fitted credit model, refitted inside each of 5 folds grouped by question (other data sets in whole), so no
  answer is scored by a model that saw its question; the shipped file is never scored on its training questions;
- the hand ramp (the fallback, today's stage 1) and the plain cosine between answer and reference answer,

each mapped onto the set's scale by an isotonic mapping that is itself fitted out of fold. Then the cross-set
figures (fitted on one set, scored on the other), then with ``--exemplars K``: K human-scored answers per question
are known (drawn at random) and the rest of each question is scored, with and without their pull. Last, the
practice set (tests/data/practice_pairs.jsonl): the shipped model's mean score of strong and of wrong answers
and how often the wrong one scores lower, beside the ramp.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from eval.dataset import load_dataset
from eval.scale import Scale
from eval.stage1_fit import HEADLINE, collect, exemplar_figures, file_sha256, measure, out_of_fold
from grader.embedding import SentenceTransformerEmbedder
from grader.fitted import SHIPPED, load_model_file
from grader.pipeline import Grader
from grader.settings import GraderSettings
from rubrics.loader import default_bank

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = [
    f"{ROOT.parent / 'shared' / 'data' / 'mohler.jsonl'}=0:5:0.5",
    f"{ROOT.parent / 'shared' / 'data' / 'scientsbank_2way_train.jsonl'}=0:1:1",
]


WIDTH = 44


def _row(label: str, figures: dict[str, float | None]) -> str:
    return f"  {label:<{WIDTH}}" + "".join(f"{figures[k] if figures[k] is not None else '-':>10}" for k in HEADLINE)


def _header() -> str:
    return f"  {'':<{WIDTH}}" + "".join(f"{k:>10}" for k in HEADLINE)


def practice(path: Path, embedder: SentenceTransformerEmbedder) -> None:
    """Mean stage-1 score of strong and wrong answers, and how often wrong < strong, for the shipped model and
    the ramp."""
    pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    bank = default_bank()
    print(f"\npractice set {path.name}: {len(pairs)} pairs (strong vs plausible-but-wrong answers)")
    print(f"  {'':<{WIDTH}}{'strong':>10}{'wrong':>10}{'wrong<strong':>14}")
    for label, setting in (("fitted (shipped)", None), ("ramp (fallback)", "ramp")):
        grader = Grader.from_settings(GraderSettings(stage1_model=setting), embedder=embedder)
        items = []
        for pair in pairs:
            rubric = bank.get(pair["question_id"])
            assert rubric is not None, pair["question_id"]
            items += [(rubric, pair["strong"]), (rubric, pair["wrong"])]
        results = grader.scorer.score_many(items)
        strong = np.asarray([r.score for r in results[0::2]])
        wrong = np.asarray([r.score for r in results[1::2]])
        print(f"  {label:<{WIDTH}}{strong.mean():>10.3f}{wrong.mean():>10.3f}{(wrong < strong).mean():>14.0%}")


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", default=DEFAULT_DATA, help="FILE=MIN:MAX:STEP, one per data set")
    parser.add_argument("--exemplars", type=int, default=10, help="human-scored answers known per question (0: off)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--practice", type=Path, default=ROOT / "tests" / "data" / "practice_pairs.jsonl")
    args = parser.parse_args()

    embedder = SentenceTransformerEmbedder()
    ramp = Grader.from_settings(GraderSettings(stage1_model="ramp"), embedder=embedder)
    started = time.perf_counter()
    sets = []
    for spec in args.data:
        path_text, _, scale_text = spec.rpartition("=")
        path = Path(path_text)
        sets.append(collect(load_dataset(path, Scale.parse(scale_text)), ramp.scorer, file_sha256(path)))
    print(f"signals of {sum(len(s.gold) for s in sets)} answers in {time.perf_counter() - started:.0f} s")

    raw = out_of_fold(sets, args.folds)
    report = measure(sets, args.folds, raw)
    print(f"\nout of fold ({args.folds} folds grouped by question, isotonic mapping fitted out of fold)")
    for name, figures in report["sets"].items():
        print(f"{name}: {figures['answers']} answers, {figures['questions']} questions")
        print(_header())
        print(_row("fitted credit model", figures["fitted"]))
        print(_row("ramp (today's stage 1)", figures["ramp"]))
        print(_row("cosine answer/reference", figures["cosine"]))
        gain = (figures["fitted"]["pearson"] or 0) - (figures["cosine"]["pearson"] or 0)
        gain_ramp = (figures["fitted"]["pearson"] or 0) - (figures["ramp"]["pearson"] or 0)
        print(f"  Pearson gain: {gain:+.3f} over the cosine, {gain_ramp:+.3f} over the ramp")
    if "cross_set" in report:
        print("\ncross-set (fitted on one whole set, scored on the other)")
        print(_header())
        for label, figures in report["cross_set"].items():
            print(_row(label, figures))
    if args.exemplars > 0:
        params = load_model_file(SHIPPED).parameters.exemplars
        figures = exemplar_figures(sets, raw, args.exemplars, params, args.folds)
        print(f"\nwith {args.exemplars} human-scored exemplars per question (shipped settings {params.model_dump()})")
        print(_header())
        for name, f in figures["sets"].items():
            print(_row(f"{name} without", f["without"]))
            print(_row(f"{name} with", f["with"]))
    if args.practice.exists():
        practice(args.practice, embedder)


if __name__ == "__main__":
    main()
