"""`python -m rubrics [DIR] [--seed SEED.md [--topic T]]`: validate rubric files without the full CLI."""

import argparse
import sys
from pathlib import Path

from rubrics.loader import BANK_DIR, validate_bank
from rubrics.seed import coverage_problems, parse_seed

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m rubrics")
    parser.add_argument("bank", nargs="?", type=Path, default=BANK_DIR)
    parser.add_argument("--seed", type=Path, help="also check coverage of and faithfulness to this seed file")
    parser.add_argument("--topic", help="with --seed: only report on this topic slug")
    args = parser.parse_args()
    rubrics, problems = validate_bank(args.bank)
    for p in problems:
        print(p, file=sys.stderr)
    seed_problems: list[str] = []
    if args.seed:
        seed_problems = coverage_problems(rubrics, parse_seed(args.seed))
        if args.topic:
            seed_problems = [p for p in seed_problems if p.startswith(args.topic + "/")]
        for line in seed_problems:
            print(line, file=sys.stderr)
    print(f"{len(rubrics)} valid, {len(problems)} file problems, {len(seed_problems)} seed problems")
    sys.exit(1 if problems or seed_problems else 0)
