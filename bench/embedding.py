"""Stage-1 grading throughput against raw ``model.encode`` of the same sentences, measured in the same run.

    python bench/embedding.py [--answers N] [--repeats R]

Answers are the bank's reference answers and their halves, cycled to N. The baseline encodes exactly the
sentences that stage 1 embeds, with the same batch size; stage 1 adds splitting, keeping the token vectors of the
same forward pass, window vectors, similarity against cached key-point vectors, token alignment, content words,
the credit model, exact-value checks and building the result objects. Rubric
embeddings are warmed before timing, as in a running service. Runs alternate and the median of each is reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from grader.embedding import SentenceTransformerEmbedder
from grader.pipeline import Grader
from grader.settings import GraderSettings
from grader.text import sentences
from rubrics.loader import default_bank


def main() -> None:
    """Run the benchmark and print both throughputs and the overhead ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=256, help="answers per score_many call (a batch chunk)")
    args = parser.parse_args()

    bank = list(default_bank())
    pool = [(r, r.reference_answer) for r in bank]
    pool += [(r, r.reference_answer[: len(r.reference_answer) // 2]) for r in bank]
    items = [pool[i % len(pool)] for i in range(args.answers)]

    embedder = SentenceTransformerEmbedder()
    model = embedder.load()
    scorer = Grader.from_settings(GraderSettings(), embedder=embedder).scorer  # the shipped credit model
    scorer.warm(bank)
    texts = [s.text for _, answer in items for s in sentences(answer)]
    model.encode(texts[:64], batch_size=64)  # first-call warm-up

    raw_times: list[float] = []
    stage1_times: list[float] = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        for i in range(0, len(items), args.chunk):
            chunk = items[i : i + args.chunk]
            model.encode(
                [s.text for _, a in chunk for s in sentences(a)],
                batch_size=64,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        raw_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(0, len(items), args.chunk):
            scorer.score_many(items[i : i + args.chunk])
        stage1_times.append(time.perf_counter() - started)

    raw, stage1 = statistics.median(raw_times), statistics.median(stage1_times)
    print(f"answers: {len(items)}  sentences embedded: {len(texts)}  repeats: {args.repeats}  chunk: {args.chunk}")
    print(f"raw model.encode : {len(items) / raw:8.1f} answers/s  ({raw:.2f} s)")
    print(f"stage-1 grading  : {len(items) / stage1:8.1f} answers/s  ({stage1:.2f} s)")
    print(f"stage-1 / raw time: {stage1 / raw:.3f}  (overhead {100 * (stage1 / raw - 1):+.1f}%, target < +15%)")


if __name__ == "__main__":
    main()
