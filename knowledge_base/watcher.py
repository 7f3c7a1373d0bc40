"""Notice article files changed by a text editor or `git pull` and reload the knowledge base.

Polls the articles folder's stat (mtime, size, inode of every `*.md`) every `interval` seconds -
no dependency, and it works on any file system. A change is reloaded once the folder has been
still for `settle` seconds, so a `git pull` touching many files is one reload.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

from knowledge_base.loader import scan

log = logging.getLogger(__name__)


class Reloadable(Protocol):
    state: str
    articles_dir: Path

    def disk_changed(self) -> bool: ...

    async def reload(self) -> object: ...


class ArticleWatcher:
    def __init__(self, kb: Reloadable, interval: float = 1.0, settle: float = 0.2) -> None:
        self.kb = kb
        self.interval = interval
        self.settle = settle
        self.reloads = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="kb-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.kb.state != "ready":
                continue  # still loading (or failed to): the load reads the folder itself
            try:
                if await asyncio.to_thread(self.kb.disk_changed):
                    await self._settle()
                    await self.kb.reload()
                    self.reloads += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # the previous index keeps serving; try again next change
                log.exception("reloading the knowledge base after a file change failed")

    async def _settle(self) -> None:
        """Wait while files keep changing (an editor's save, a checkout), at most a few polls."""
        root = self.kb.articles_dir
        before = await asyncio.to_thread(scan, root)
        for _ in range(10):
            await asyncio.sleep(self.settle)
            now = await asyncio.to_thread(scan, root)
            if now == before:
                return
            before = now
