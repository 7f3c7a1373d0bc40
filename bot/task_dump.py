"""`kill -USR1 <hub pid>`: the hub logs every asyncio task it runs, with where each one waits.
For a request that hangs in production, this tells what it is waiting for."""

from __future__ import annotations

import asyncio
import io
import logging
import signal

log = logging.getLogger(__name__)


def dump_tasks() -> str:
    out = io.StringIO()
    tasks = asyncio.all_tasks()
    out.write(f"{len(tasks)} tasks\n")
    for task in sorted(tasks, key=lambda t: t.get_name()):
        out.write(f"--- {task.get_name()}\n")
        task.print_stack(limit=12, file=out)
    return out.getvalue()


def install() -> None:
    """On SIGUSR1, log the tasks (a no-op where the loop cannot take signal handlers)."""
    try:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, lambda: log.warning("%s", dump_tasks()))
    except (NotImplementedError, RuntimeError, ValueError):
        pass
