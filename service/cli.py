"""The ``grader`` command line: serve, grade, batch, worker, calibrate, keys, db, rubrics."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


def _batch_grader(settings: Settings, stages: str, concurrency: int | None) -> Grader:
    from grader.policy import JudgePolicy

    overrides: dict[str, object] = {}
    if stages == "embedding":
        overrides["judge_policy"] = JudgePolicy.NEVER
    if concurrency:
        overrides["judge_concurrency"] = concurrency
    return Grader.from_settings(settings.model_copy(update=overrides))


async def _batch_async(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from service.batch_file import errors_path, run_file
    from service.db import make_async_engine, session_factory

    grader = _batch_grader(settings, args.stages, args.concurrency)
    engine = make_async_engine(settings.resolved_database_url())
    bar = tqdm(unit="answer", desc="grading", dynamic_ncols=True)

    def started(total: int, done: int) -> None:
        bar.reset(total=total)
        bar.update(done)

    try:
        summary = await run_file(
            session_factory(engine),
            grader,
            default_bank(),
            args.input,
            args.out,
            resume=args.resume,
            stages=args.stages,
            progress=bar.update,
            started=started,
            chunk_size=settings.batch_chunk,
        )
    finally:
        bar.close()
        await engine.dispose()
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_status.items())) or "none"
    print(
        f"batch {summary.batch_id}: graded {summary.graded_now} now, {summary.already_done} earlier ({statuses}); "
        f"rows with errors {summary.errors}"
    )
    print(f"results: {args.out}  errors: {errors_path(args.out)}")
    return 0


def _batch(args: argparse.Namespace, settings: Settings) -> int:
    from service.migrate import upgrade

    upgrade(settings.resolved_database_url())
    try:
        return asyncio.run(_batch_async(args, settings))
    except KeyboardInterrupt:
        print("\ninterrupted: every finished chunk is saved; run again with --resume to finish", file=sys.stderr)
        return 130


async def _worker_async(args: argparse.Namespace, settings: Settings) -> int:
    from service.db import make_async_engine, session_factory
    from service.job_queue import JobContext, QueueJobs, make_queue_app, requeue_unfinished, run_worker

    url = settings.resolved_database_url()
    engine = make_async_engine(url)
    app = make_queue_app(url)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    grader = Grader.from_settings(settings)
    context = JobContext(session_factory(engine), grader, default_bank())
    # Load the model and embed every rubric before taking jobs, so no chunk pays for it.
    await asyncio.to_thread(grader.scorer.warm, list(context.bank))
    try:
        async with app.open_async():
            # A batch stored by a service that died before handing its chunks to the queue.
            await requeue_unfinished(context.sessions, QueueJobs(app), never_enqueued_only=True)
        await run_worker(
            app, context, concurrency=args.concurrency, heartbeat=args.heartbeat, stalled_after=args.stalled_after
        )
    finally:
        await engine.dispose()
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from service.migrate import upgrade

    if not settings.resolved_database_url().startswith("postgresql"):
        print(
            "error: grader worker needs GRADER_DATABASE_URL on PostgreSQL; on the SQLite default the service "
            "grades batches in-process",
            file=sys.stderr,
        )
        return 2
    upgrade(settings.resolved_database_url())
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_worker_async(args, settings))
    return 130


async def _calibrate_async(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from eval.calibrate import Options, calibrate
    from eval.dataset import load_dataset
    from eval.report import headline, render, write
    from eval.scale import Scale
    from service import calibrations
    from service.db import make_async_engine, session_factory

    options = Options(method=args.method, cv=args.cv, bootstrap=args.bootstrap)
    dataset = load_dataset(args.data, Scale.parse(args.scale), limit=args.limit)
    store = args.store or args.profile is not None
    engine = make_async_engine(settings.resolved_database_url()) if store else None
    try:
        if engine is not None and args.profile is not None:
            async with session_factory(engine)() as session:
                await calibrations.ensure_profile_name_free(session, args.profile)  # before minutes of grading
        grader = _batch_grader(settings, args.stages, None)
        with tqdm(total=len(dataset.items), unit="answer", desc="grading", dynamic_ncols=True) as bar:
            calibration = await calibrate(dataset, grader, options, args.stages, bar.update)
        rendered = await asyncio.to_thread(render, calibration)
        written = write(rendered, args.out)
        print(headline(rendered.report))
        print(f"wrote {', '.join(str(p) for p in written)}")
        if engine is not None:
            async with session_factory(engine)() as session:
                row, saved = await calibrations.store(
                    session,
                    calibration,
                    rendered,
                    name=args.name or args.data.name,
                    created_by="cli",
                    profile=args.profile,
                )
            print(f"stored calibration run {row.id}" + (f" and profile {saved.name!r}" if saved else ""))
    finally:
        if engine is not None:
            await engine.dispose()
    return 0


def _calibrate(args: argparse.Namespace, settings: Settings) -> int:
    from service.migrate import upgrade

    if args.store or args.profile is not None:
        upgrade(settings.resolved_database_url())
    return asyncio.run(_calibrate_async(args, settings))


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


def _stage1(args: argparse.Namespace, settings: Settings) -> int:
    from eval.dataset import load_dataset
    from eval.scale import Scale
    from eval.stage1_fit import collect, file_sha256, model_file
    from grader.errors import InvalidInput
    from grader.fitted import write_model_file

    grader = Grader.from_settings(settings.model_copy(update={"stage1_model": "ramp"}))
    sets = []
    for spec in args.data:
        path_text, sep, scale_text = spec.rpartition("=")
        if not sep:
            raise InvalidInput(f"{spec}: give each data set with its scale, as FILE=MIN:MAX:STEP")
        path = Path(path_text)
        dataset = load_dataset(path, Scale.parse(scale_text))
        print(f"{path.name}: {len(dataset.items)} answers to {len(dataset.questions)} questions", file=sys.stderr)
        sets.append(collect(dataset, grader.scorer, file_sha256(path), max_answer_chars=grader.max_answer_chars))
    fitted = model_file(sets, grader.scorer.embedder.name, folds=args.cv, exemplars=args.exemplars)
    write_model_file(fitted, args.out)
    print(f"wrote {args.out} ({fitted.version})")
    for name, figures in fitted.cross_validation["sets"].items():
        shown = {kind: f for kind, f in figures.items() if isinstance(f, dict)}
        row = "  ".join(f"{kind} r={f['pearson']} qwk={f['qwk']}" for kind, f in shown.items())
        print(f"  {name} (out of fold): {row}")
    return 0


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
    batch.add_argument("--resume", action="store_true", help="finish an interrupted run of this input file")
    batch.add_argument("--stages", choices=["embedding", "all"], default="all", help="embedding: never call the judge")
    batch.add_argument("--concurrency", type=int, help="judge calls in flight (default GRADER_JUDGE_CONCURRENCY)")
    batch.set_defaults(func=_batch)

    worker = sub.add_parser("worker", help="grade batch chunk jobs from the PostgreSQL queue (run any number)")
    worker.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="chunk jobs at once in this process (the model takes one at a time; the other writes or calls the judge)",
    )
    worker.add_argument(
        "--threads",
        type=int,
        help="CPU threads for the model (default: all cores; several workers on one machine "
        "share them better with cores/workers each)",
    )
    worker.add_argument("--heartbeat", type=float, default=10.0, help="seconds between liveness heartbeats")
    worker.add_argument(
        "--stalled-after", type=float, default=30.0, help="retry the jobs of a worker silent this many seconds"
    )
    worker.set_defaults(func=_worker)

    calibrate = sub.add_parser(
        "calibrate", help="agreement with human scores, a mapping onto their scale, and a JSON + HTML report"
    )
    calibrate.add_argument(
        "data",
        type=Path,
        help="JSONL or CSV: question_id, question, reference_answer, answer, "
        "human_scores and/or score (optional key_points, max_score)",
    )
    calibrate.add_argument("--scale", required=True, help="the human scores' scale MIN:MAX:STEP, e.g. 0:5:0.5")
    calibrate.add_argument("--cv", type=int, default=5, help="folds of the cross-validation grouped by question")
    calibrate.add_argument("--out", type=Path, required=True, help="directory for report.json, report.html, PNGs")
    calibrate.add_argument("--method", choices=["isotonic", "linear"], default="isotonic", help="monotone mapping")
    calibrate.add_argument("--stages", choices=["embedding", "all"], default="all", help="embedding: never the judge")
    calibrate.add_argument("--bootstrap", type=int, default=1000, help="question resamples for 95%% intervals")
    calibrate.add_argument("--limit", type=int, help="only the first N answers (a quick look at a big file)")
    calibrate.add_argument("--store", action="store_true", help="also store the run in the database")
    calibrate.add_argument("--profile", help="store the mapping as this named profile (implies --store)")
    calibrate.add_argument("--name", help="the stored run's name (default: the data file's name)")
    calibrate.set_defaults(func=_calibrate)

    stage1 = sub.add_parser("stage1", help="the stage-1 credit model")
    s_sub = stage1.add_subparsers(dest="stage1_command", required=True)
    fit = s_sub.add_parser(
        "fit", help="fit the credit model on human-scored data sets and write it with its out-of-fold figures"
    )
    fit.add_argument(
        "data",
        nargs="+",
        help="data sets as FILE=MIN:MAX:STEP (JSONL or CSV as for calibrate), e.g. mohler.jsonl=0:5:0.5",
    )
    fit.add_argument("--out", type=Path, required=True, help="the model file to write (JSON)")
    fit.add_argument("--cv", type=int, default=5, help="folds of the cross-validation grouped by question")
    fit.add_argument("--exemplars", type=int, default=10, help="exemplars per question when choosing their settings")
    stage1.set_defaults(func=_stage1)

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
