"""The ``grader`` command line: serve, grade, db, rubrics."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from grader.errors import GraderError
from grader.pipeline import Grader
from grader.result import GradeResult
from rubrics.loader import BANK_DIR, default_bank, validate_bank
from rubrics.schema import json_schema
from service.settings import Settings, get_settings

SCHEMA_PATH = BANK_DIR.parent / "rubric.schema.json"


async def _batch_async(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from grader.policy import JudgePolicy
    from service.batch_file import count_rows, run_batch
    from service.db import make_async_engine, session_factory

    overrides: dict[str, object] = {}
    if args.stages == "embedding":
        overrides["judge_policy"] = JudgePolicy.NEVER
    if args.concurrency:
        overrides["judge_concurrency"] = args.concurrency
    grader = Grader.from_settings(settings.model_copy(update=overrides))
    engine = make_async_engine(settings.resolved_database_url())
    try:
        with tqdm(total=count_rows(args.input), unit="row", desc="grading") as bar:
            async with session_factory(engine)() as session:
                summary = await run_batch(
                    session, default_bank(), grader, args.input, args.out, resume=args.resume, progress=bar.update
                )
    finally:
        await engine.dispose()
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_status.items())) or "none"
    print(f"graded {summary.graded} ({statuses}); errors {summary.errors}; already done {summary.skipped}")
    print(f"results: {args.out}  errors: {args.out}.errors.jsonl")
    return 0


def _batch(args: argparse.Namespace, settings: Settings) -> int:
    from service.migrate import upgrade

    if args.out.suffix.lower() not in (".csv", ".jsonl") or args.input.suffix.lower() not in (".csv", ".jsonl"):
        print("error: input and --out must end in .csv or .jsonl", file=sys.stderr)
        return 2
    upgrade(settings.resolved_database_url())
    try:
        return asyncio.run(_batch_async(args, settings))
    except KeyboardInterrupt:
        print("\ninterrupted: every finished chunk is saved; run again with --resume to finish", file=sys.stderr)
        return 130


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from service.app import create_app
    from service.auth_mode import AuthMode
    from service.migrate import upgrade

    host = args.host or settings.host
    port = args.port or settings.port
    if settings.auth is AuthMode.OPEN and host not in LOOPBACK and not settings.allow_open_network:
        print(
            f"error: refusing to serve on {host} without API keys: anyone who can reach it could use it. "
            "Set GRADER_AUTH=keys (and create keys with `grader keys create`), or GRADER_ALLOW_OPEN_NETWORK=true "
            "if that is really what you want.",
            file=sys.stderr,
        )
        return 2
    upgrade(settings.resolved_database_url())
    print(f"answer-grader on http://{host}:{port}  (docs: /docs, database: {settings.resolved_database_url()})")
    from service.observability import configure_logging

    configure_logging()
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None)
    return 0


async def _grade_and_store(settings: Settings, question_id: str, answer: str) -> tuple[str, GradeResult]:
    from service import grading
    from service.db import make_async_engine, session_factory

    engine = make_async_engine(settings.resolved_database_url())
    try:
        async with session_factory(engine)() as session:
            grader = Grader.from_settings(settings)
            grade, _ = await grading.submit(session, default_bank(), grader, question_id, answer, owner="cli")
            return grade.id, GradeResult.model_validate(grade.result)
    finally:
        await engine.dispose()


def _grade(args: argparse.Namespace, settings: Settings) -> int:
    from service.migrate import upgrade

    answer = sys.stdin.read() if args.answer in (None, "-") else args.answer
    upgrade(settings.resolved_database_url())
    grade_id, result = asyncio.run(_grade_and_store(settings, args.question_id, answer))
    if args.json:
        print(json.dumps({"id": grade_id, **result.model_dump(mode="json")}, indent=2, ensure_ascii=False))
    else:
        print(render(result, grade_id))
    return 0


def render(result: GradeResult, grade_id: str) -> str:
    """A grade as a person reads it in a terminal."""
    score = "unscored" if result.score is None else f"{result.score:.2f}"
    stages = ", ".join(s.value for s in result.stages) or "none"
    lines = [f"{result.question_id}: score {score} ({result.status.value}; stages: {stages})"]
    if result.unscored_reason:
        lines.append(f"  reason: {result.unscored_reason}")
    for p in result.points:
        mark = "met " if p.credit >= 0.75 else "part" if p.credit >= 0.25 else "miss"
        lines.append(f"  [{mark}] {p.id} ({p.credit:.2f}): {p.text}")
        if p.evidence is not None:
            lines.append(f'         evidence: "{p.evidence.quote}"')
    if result.numeric is not None:
        state = "stated" if result.numeric.matched else "not found"
        lines.append(f"  exact value {result.numeric.expected}: {state}")
    for m in result.misconceptions:
        if m.detected:
            lines.append(f"  misconception: {m.text} (-{m.penalty:.2f})")
    lines.append(f"feedback: {result.feedback}")
    lines.append(f"grade id: {grade_id}")
    return "\n".join(lines)


async def _keys_async(args: argparse.Namespace, settings: Settings) -> int:
    from service import keys
    from service.auth import Role
    from service.db import make_async_engine, session_factory

    engine = make_async_engine(settings.resolved_database_url())
    try:
        async with session_factory(engine)() as session:
            if args.keys_command == "create":
                row, key = await keys.create_key(session, Role(args.role), args.name or f"{args.role} key")
                print(f"created {row.role} key {row.id} ({row.name}). Store it now; it is not shown again:")
                print(key)
            elif args.keys_command == "list":
                for row in await keys.list_keys(session):
                    state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                    print(f"{row.id}  {row.role:9}  {state:18}  {row.name}")
            else:
                row = await keys.revoke_key(session, args.key_id)
                print(f"revoked {row.id} ({row.name})")
    finally:
        await engine.dispose()
    return 0


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from service.migrate import upgrade

    upgrade(settings.resolved_database_url())
    return asyncio.run(_keys_async(args, settings))


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from service.migrate import check, upgrade

    url = settings.resolved_database_url()
    if args.db_command == "upgrade":
        upgrade(url)
        print(f"database at head: {url}")
    else:
        check(url)
        print("models and migrations agree")
    return 0


def _rubrics(args: argparse.Namespace, settings: Settings) -> int:
    if args.rubrics_command == "schema":
        SCHEMA_PATH.write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}")
        return 0
    if args.rubrics_command == "check":
        return _rubrics_check(args, settings)
    total, failed = 0, 0
    for root in args.paths or [BANK_DIR]:
        rubrics, problems = validate_bank(root) if root.is_dir() else _validate_file(root)
        total += len(rubrics) + len({p.path for p in problems})
        failed += len({p.path for p in problems})
        for problem in problems:
            print(problem, file=sys.stderr)
    print(f"{total - failed} of {total} rubric files valid")
    return 1 if failed else 0


def _rubrics_check(args: argparse.Namespace, settings: Settings) -> int:
    from eval.rubric_quality import check_bank, format_report

    rubrics = [r for r in default_bank() if args.topic is None or r.topic == args.topic]
    if not rubrics:
        print(f"no rubrics with topic {args.topic!r}", file=sys.stderr)
        return 2
    report = check_bank(rubrics, Grader.from_settings(settings).scorer)
    print(format_report(report, worst=args.worst))
    return 0 if report.passed else 1


def _validate_file(path: Path) -> tuple[list, list]:  # type: ignore[type-arg]
    from rubrics.loader import RubricFileError, load_rubric_file

    try:
        return [load_rubric_file(path, bank_dir=None)], []
    except RubricFileError as exc:
        return [], exc.problems


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="grader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service (migrates the database first)")
    serve.add_argument("--host", help="interface to bind (default GRADER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default GRADER_PORT or 8000)")
    serve.set_defaults(func=_serve)

    grade = sub.add_parser("grade", help="grade one answer and store it")
    grade.add_argument("question_id", help="e.g. vectors/01-dot-product-geometry")
    grade.add_argument("answer", nargs="?", help="the answer text, or - (or nothing) to read standard input")
    grade.add_argument("--json", action="store_true", help="print the grade as JSON")
    grade.set_defaults(func=_grade)

    batch = sub.add_parser("batch", help="grade a CSV or JSONL file of answers (question_id, answer)")
    batch.add_argument("input", type=Path)
    batch.add_argument("--out", type=Path, required=True, help="results file, .csv or .jsonl")
    batch.add_argument("--resume", action="store_true", help="continue an interrupted run: skip rows already done")
    batch.add_argument("--stages", choices=["embedding", "all"], default="all", help="embedding: never call the judge")
    batch.add_argument("--concurrency", type=int, help="judge calls in flight (default GRADER_JUDGE_CONCURRENCY)")
    batch.set_defaults(func=_batch)

    keys = sub.add_parser("keys", help="API keys (GRADER_AUTH=keys)")
    k_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = k_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=["admin", "rater", "candidate"])
    create.add_argument("--name", help="who or what the key is for")
    k_sub.add_parser("list", help="list keys (never the keys themselves)")
    revoke = k_sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id")
    keys.set_defaults(func=_keys)

    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate the database to the latest schema")
    db_sub.add_parser("check", help="fail if the models and the migrations differ")
    db.set_defaults(func=_db)

    rubrics = sub.add_parser("rubrics", help="rubric files")
    r_sub = rubrics.add_subparsers(dest="rubrics_command", required=True)
    validate = r_sub.add_parser("validate", help="validate rubric files (default: the whole bank)")
    validate.add_argument("paths", nargs="*", type=Path, help="files or directories")
    r_sub.add_parser("schema", help="regenerate rubrics/rubric.schema.json from the models")
    check = r_sub.add_parser(
        "check",
        help="stage-1 discrimination: each reference answer against its topic's rubrics (exit 1 below threshold)",
    )
    check.add_argument("--topic", help="only this topic")
    check.add_argument("--worst", type=int, default=15, help="how many thinnest-margin rubrics to list")
    rubrics.set_defaults(func=_rubrics)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``grader`` console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args, get_settings())
    except GraderError as exc:
        print(f"error: {exc.title}: {exc.detail}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
