"""`supportbot` command line: run | train | kb index | kb eval | gaps."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from bot.settings import Settings, load_settings


def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from bot.app import create_app
    from bot.hub import Hub, knowledge_base
    from bot.rasa_train import TrainingFailed, train

    settings = settings.with_(host=args.host or settings.host, port=args.port or settings.port)
    if settings.rasa_managed and not args.skip_train:
        print("==> Training the Rasa model (skipped by Rasa if nothing changed)", flush=True)
        try:
            asyncio.run(train(settings))
        except (TrainingFailed, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print("==> Indexing the knowledge base", flush=True)
    _print_report(knowledge_base(settings).build(progress=True))
    print(f"==> Serving the hub on http://{settings.host}:{settings.port}  (Ctrl-C stops)")
    uvicorn.run(
        create_app(Hub(settings)),
        host=settings.host,
        port=settings.port,
        log_level="info",
        ws="websockets-sansio",
        ws_max_size=settings.max_frame_bytes,  # a bigger message closes the socket with 1009
    )
    return 0


def _cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    from bot.rasa_train import TrainingFailed, train

    try:
        model = asyncio.run(train(settings, force=args.force))
    except (TrainingFailed, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"model: {model}")
    return 0


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    print(
        f"{report.articles} articles, {report.entries} entries, {report.embedded} texts embedded "
        f"({len(report.changed)} articles new or changed, {len(report.removed)} removed) "
        f"in {report.seconds:.1f} s"
    )
    for error in report.errors:
        print(f"  skipped: {error}", file=sys.stderr)


def _cmd_kb_index(settings: Settings, args: argparse.Namespace) -> int:
    from bot.hub import knowledge_base

    kb = knowledge_base(settings, Path(args.kb) if args.kb else None)
    report = kb.build(progress=True)
    _print_report(report)
    for changed in report.changed:
        print(f"  updated: {changed}")
    return 1 if report.errors and args.strict else 0


def _cmd_kb_eval(settings: Settings, args: argparse.Namespace) -> int:
    from knowledge_base.eval import evaluate, read_queries

    try:
        queries = read_queries(Path(args.queries))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    quantize = args.quantize or settings.embedding_quantize
    result = evaluate(
        Path(args.kb),
        queries,
        args.model or settings.embedding_model,
        quantize=quantize,
        runtime=args.runtime or settings.embedding_runtime,
        onnx_dir=settings.onnx_dir,
    )
    print(json.dumps(result))
    return 0


def _cmd_gaps(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage.db import Database
    from bot.storage.repo import Store

    async def fetch() -> list[dict[str, object]]:
        db = Database(settings.db_url)
        try:
            await db.migrate()
            gaps = await Store(db).gaps(limit=args.limit)
        finally:
            await db.close()
        return [
            {
                "at": g.created_at.isoformat(timespec="seconds"),
                "question": g.question,
                "language": g.language,
                "reason": g.reason,
                "conversation": g.conversation_key,
                "candidates": g.candidates,
            }
            for g in gaps
        ]

    rows = asyncio.run(fetch())
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print("No knowledge gaps logged yet.")
    for row in rows:
        best = ", ".join(f"{c['id']} {c['score']:.2f}" for c in row["candidates"][:2])  # type: ignore[index,union-attr]
        print(f"{row['at']}  [{row['language'] or '-'}] {row['reason']:<12} {row['question']}")
        if best:
            print(f"{'':22}closest: {best}")
    return 0


def _cmd_agents_add(settings: Settings, args: argparse.Namespace) -> int:
    import getpass

    from bot.auth import AccountError, AgentDirectory
    from bot.storage.db import Database

    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.username}: ")
        if getpass.getpass("Repeat it: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")

    async def add() -> None:
        db = Database(settings.db_url)
        try:
            await db.migrate()
            await AgentDirectory(db).create(args.username, password, args.role, args.name)
        finally:
            await db.close()

    try:
        asyncio.run(add())
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"agent '{args.username}' ({args.role}) created; log in at /agent")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supportbot",
        description="Self-hosted support bot: Rasa + a Markdown knowledge base + human handoff.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="train if needed, index the KB, start Rasa and serve the hub")
    run.add_argument("--host", help="interface to listen on (default SUPPORTBOT_HOST)")
    run.add_argument("--port", type=int, help="port to listen on (default SUPPORTBOT_PORT)")
    run.add_argument("--skip-train", action="store_true", help="use the newest model as it is")
    run.set_defaults(func=_cmd_run)

    train = sub.add_parser("train", help="train the Rasa model (skipped if nothing changed)")
    train.add_argument("--force", action="store_true", help="train even if nothing changed")
    train.set_defaults(func=_cmd_train)

    kb = sub.add_parser("kb", help="knowledge-base tools").add_subparsers(
        dest="kb_command", required=True, metavar="KB_COMMAND"
    )
    index = kb.add_parser("index", help="(re)build the index; only changed articles are embedded")
    index.add_argument("--kb", help="articles folder (default KB_ARTICLES_DIR)")
    index.add_argument("--strict", action="store_true", help="exit 1 if any article is broken")
    index.set_defaults(func=_cmd_kb_index)
    ev = kb.add_parser(
        "eval",
        help="measure retrieval on labelled queries; last line is a JSON summary",
        description="Builds a temporary index from --kb (the bot's own index is not touched), "
        'runs every query of --queries (JSON lines {"text", "expected": id|null}) one at a time '
        "and prints one JSON object on its last line.",
    )
    ev.add_argument("--kb", required=True, help="folder of articles (<lang>/<id>.md)")
    ev.add_argument("--queries", required=True, help="JSON-lines file of labelled queries")
    ev.add_argument("--model", help="embedding model (default EMBEDDING_MODEL)")
    ev.add_argument(
        "--quantize", action="store_true", help="int8 embedding model (default EMBEDDING_QUANTIZE)"
    )
    ev.add_argument(
        "--runtime",
        choices=["onnx", "torch"],
        help="what runs the embedding model (default EMBEDDING_RUNTIME)",
    )
    ev.set_defaults(func=_cmd_kb_eval)

    agents = sub.add_parser("agents", help="agent accounts").add_subparsers(
        dest="agents_command", required=True, metavar="AGENTS_COMMAND"
    )
    add = agents.add_parser(
        "add",
        help="create an agent (password asked for, or read from stdin when piped)",
    )
    add.add_argument("username")
    add.add_argument("--role", choices=["agent", "admin"], default="agent")
    add.add_argument("--name", help="display name shown to colleagues and customers")
    add.set_defaults(func=_cmd_agents_add)

    gaps = sub.add_parser("gaps", help="questions the bot could not answer, newest first")
    gaps.add_argument("--limit", type=int, default=50)
    gaps.add_argument("--json", action="store_true", help="print JSON")
    gaps.set_defaults(func=_cmd_gaps)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "alembic", "sentence_transformers", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return int(args.func(load_settings(), args) or 0)


if __name__ == "__main__":
    sys.exit(main())
