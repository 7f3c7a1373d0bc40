"""Several hubs on one real Redis (127.0.0.1:6379): one customer's messages are handled one at a
time whichever hub takes them, and background work runs on exactly one hub, handed over when
that hub stops or dies."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import pytest

from bot.cluster.lease import Leader, Locks, RedisLeader, RedisLocks, redis_client
from tests.support import REDIS_URL


async def _interleaving(first: Locks, second: Locks, key: str) -> list[str]:
    """Two hubs each handle one message of the same conversation at once."""
    order: list[str] = []

    async def handle(locks: Locks, name: str) -> None:
        async with locks.hold(key):
            order.append(f"{name} question")
            await asyncio.sleep(0.05)  # Rasa thinking
            order.append(f"{name} answer")

    await asyncio.gather(handle(first, "a"), handle(second, "b"))
    return order


async def test_one_hub_handles_a_conversation_one_message_at_a_time() -> None:
    locks = Locks()
    order = await _interleaving(locks, locks, "web:one")
    assert order in (
        ["a question", "a answer", "b question", "b answer"],
        ["b question", "b answer", "a question", "a answer"],
    )
    assert not locks._local  # nothing kept per finished conversation


async def test_two_hubs_handle_a_conversation_one_message_at_a_time() -> None:
    key = f"web:{uuid.uuid4().hex[:8]}"
    hub1, hub2 = RedisLocks(redis_client(REDIS_URL)), RedisLocks(redis_client(REDIS_URL))
    order = await _interleaving(hub1, hub2, key)
    assert order[0][0] == order[1][0] and order[2][0] == order[3][0], order  # Q A Q A
    await hub1.redis.aclose()
    await hub2.redis.aclose()


async def test_a_dead_hubs_lock_frees_itself() -> None:
    key = f"web:{uuid.uuid4().hex[:8]}"
    dead = redis_client(REDIS_URL)
    await dead.set(f"supportbot:lock:{key}", "a hub that died", px=300)
    alive = RedisLocks(redis_client(REDIS_URL), wait=5)
    async with asyncio.timeout(3):
        async with alive.hold(key):
            pass
    await dead.aclose()
    await alive.redis.aclose()


async def test_a_live_hub_keeps_its_lock_through_a_turn_longer_than_the_expiry() -> None:
    """The lock expires quickly (a dead hub frees it in seconds) but a slow turn on a live hub
    keeps it: the other hub waits instead of interleaving."""
    key = f"web:{uuid.uuid4().hex[:8]}"
    slow, other = (RedisLocks(redis_client(REDIS_URL), expires=0.6) for _ in range(2))
    order: list[str] = []

    async def long_turn() -> None:
        async with slow.hold(key):
            order.append("slow starts")
            await asyncio.sleep(1.5)  # over twice the expiry
            order.append("slow ends")

    async def next_turn() -> None:
        await asyncio.sleep(0.2)
        async with other.hold(key):
            order.append("other")

    await asyncio.gather(long_turn(), next_turn())
    assert order == ["slow starts", "slow ends", "other"]
    await slow.redis.aclose()
    await other.redis.aclose()


class SwallowedCancel:
    """The real Redis client, whose locks' renewal swallows a cancel that lands in the middle
    of it - what Python 3.11's timeouts inside the Redis client do when a cancel and a timeout
    meet (seen with a hub killed under load: the request waited on its renewal forever)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def lock(self, *args: Any, **kwargs: Any) -> Any:
        lock = self.real.lock(*args, **kwargs)
        renew = lock.reacquire

        async def reacquire() -> Any:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.3)  # the command on the wire when the cancel comes
            return await renew()

        lock.reacquire = reacquire
        return lock

    async def aclose(self) -> None:
        await self.real.aclose()


async def test_a_renewal_that_swallows_its_cancel_does_not_hold_the_turn_or_the_lock() -> None:
    key = f"web:{uuid.uuid4().hex[:8]}"
    real = redis_client(REDIS_URL)
    locks = RedisLocks(SwallowedCancel(real), expires=0.6)

    async def turn() -> None:
        async with locks.hold(key):
            await asyncio.sleep(0.3)  # released while a renewal is on the wire

    handling = asyncio.create_task(turn())
    await asyncio.wait({handling}, timeout=3)
    stuck = not handling.done()
    if stuck:  # before the fix: the turn waited on its renewal forever
        for _ in range(3):  # (the renewal takes a second cancel; the turn, a third)
            handling.cancel()
            await asyncio.sleep(0.4)
    assert not stuck
    async with asyncio.timeout(2):  # and nobody renews the lock any more: it goes
        while await real.exists(f"supportbot:lock:{key}"):
            await asyncio.sleep(0.05)
    await locks.close()


async def test_the_only_hub_always_leads() -> None:
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()
        await asyncio.Event().wait()

    leader = Leader("retry")
    runner = asyncio.create_task(leader.run(job))
    await asyncio.wait_for(ran.wait(), 2)
    runner.cancel()


@pytest.mark.parametrize("how", ["stops", "dies"])
async def test_background_work_runs_on_one_hub_and_moves_when_it_goes(how: str) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    running: dict[str, int] = {"hub-1": 0, "hub-2": 0}

    def job_for(hub: str):  # type: ignore[no-untyped-def]
        async def job() -> None:
            running[hub] += 1
            try:
                await asyncio.Event().wait()
            finally:
                running[hub] -= 1

        return job

    one = RedisLeader(redis_client(REDIS_URL), name, ttl=0.6, hub="hub-1")
    two = RedisLeader(redis_client(REDIS_URL), name, ttl=0.6, hub="hub-2")
    await one.start()
    await two.start()
    runners = [
        asyncio.create_task(one.run(job_for("hub-1"))),
        asyncio.create_task(two.run(job_for("hub-2"))),
    ]
    await asyncio.sleep(0.5)
    assert running == {"hub-1": 1, "hub-2": 0}  # exactly one hub works

    if how == "stops":
        await one.stop()  # a clean shutdown hands over at once
    else:  # the hub dies: its lease is not renewed and runs out
        assert one._loop is not None
        one._loop.cancel()
        await one.redis.delete("nothing")  # the connection is fine; only the renewals stopped
    async with asyncio.timeout(3):
        while running["hub-2"] != 1:
            await asyncio.sleep(0.05)
    if how == "dies":
        # the dead hub's job is cancelled as soon as its renewal finds the lease gone
        one._loop = asyncio.create_task(one._keep())
        async with asyncio.timeout(3):
            while running["hub-1"]:
                await asyncio.sleep(0.05)
    assert running == {"hub-1": 0, "hub-2": 1}
    for runner in runners:
        runner.cancel()
    await asyncio.gather(*runners, return_exceptions=True)
    await one.stop()
    await two.stop()
    await one.redis.aclose()
    await two.redis.aclose()
