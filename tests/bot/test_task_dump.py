"""`kill -USR1 <hub pid>` logs every task of the hub and where it waits."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from bot import task_dump


async def test_sigusr1_logs_each_task_and_the_line_it_waits_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def waits_for_rasa() -> None:
        await asyncio.sleep(30)

    stuck = asyncio.create_task(waits_for_rasa(), name="turn-web:s1")
    await asyncio.sleep(0)
    task_dump.install()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.task_dump"):
            os.kill(os.getpid(), signal.SIGUSR1)
            for _ in range(50):
                if caplog.records:
                    break
                await asyncio.sleep(0.02)
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        stuck.cancel()
    dump = caplog.records[0].getMessage()
    assert "--- turn-web:s1" in dump
    assert "await asyncio.sleep(30)" in dump  # where it waits
