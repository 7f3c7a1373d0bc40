"""What several hubs need to agree on (issue 13): one customer's messages handled one at a time
whichever hub receives them, and background work (retrying pending messages, the Slack desk
worker, Telegram long polling) running on exactly one hub.

- `Locks.hold(key)`: an exclusive section per key (a conversation). In one process an
  `asyncio.Lock`; with Redis a Redis lock (SET NX with an expiry, so a dead hub's lock frees
  itself) taken after the local one, so a hub never spins against itself.
- `Leader`: a lease. In one process this hub always leads; with Redis the hub holding the key
  `supportbot:leader:<name>` leads, renews it every third of its time to live, and another hub
  takes over within one time to live after the leader stops or dies. `run(job)` runs `job` only
  while this hub leads, and cancels it the moment the lease is lost; `only(handler)` wraps an
  event-bus subscriber so that, of all hubs receiving an event, the leader alone acts on it.

`make_locks` / `make_leader` pick the local or the Redis kind from REDIS_URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar, cast

log = logging.getLogger(__name__)

Job = Callable[[], Coroutine[Any, Any, None]]
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[None]])

# renew only if we still hold it: compare the token, then extend (atomic in Redis)
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Locks:
    """In-process locks per key."""

    def __init__(self) -> None:
        self._local: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    def busy(self, key: str) -> bool:
        """Whether this hub is working on `key` (or waits to) right now."""
        return key in self._users

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._local.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                async with self._cluster(key):
                    yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # nobody waits: forget it (keys are unbounded)
                del self._users[key]
                self._local.pop(key, None)

    @asynccontextmanager
    async def _cluster(self, key: str) -> AsyncIterator[None]:
        yield

    async def close(self) -> None:
        return None


class RedisLocks(Locks):
    """Locks shared by every hub on one Redis. `expires`: a holder that died frees the key
    after this long (a live holder renews it every third of that, however long its turn takes,
    so a hub killed mid-turn holds its customers up for seconds, not minutes); `wait`: how long
    to wait for it before giving up (TimeoutError)."""

    def __init__(
        self, redis: Any, expires: float = 6.0, wait: float = 120.0, namespace: str = ""
    ) -> None:
        super().__init__()
        self.redis = redis
        self.prefix = f"supportbot:{namespace}:lock:" if namespace else "supportbot:lock:"
        self.expires = expires
        self.wait = wait

    @asynccontextmanager
    async def _cluster(self, key: str) -> AsyncIterator[None]:
        lock = self.redis.lock(
            f"{self.prefix}{key}", timeout=self.expires, blocking_timeout=self.wait
        )
        if not await lock.acquire():
            raise TimeoutError(f"another hub held {key!r} for over {self.wait:.0f} s")
        released = asyncio.Event()
        renewing = asyncio.create_task(self._renew(lock, released), name=f"renew-lock-{key}")
        try:
            yield
        finally:
            released.set()
            renewing.cancel()
            # never wait on the renewal for long: it ends by itself once `released` is set
            await asyncio.wait({renewing}, timeout=self.expires)
            with suppress(Exception):  # expired already: the next holder has it
                await lock.release()

    async def _renew(self, lock: Any, released: asyncio.Event) -> None:
        """Every third of the expiry until `released`. Not cancellation alone: Python 3.11's
        timeouts inside the Redis client can swallow a cancel that lands mid-command, and a
        renewal that outlived its cancel held the lock - and the request awaiting it -
        forever (seen with a hub killed under load)."""
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), self.expires / 3)
            if released.is_set():
                return
            try:
                await lock.reacquire()  # back to `expires` from now, if it is still ours
            except Exception:
                log.warning("could not renew the lock %s", lock.name, exc_info=True)

    async def close(self) -> None:
        await self.redis.aclose()


class Leader:
    """The only hub: it always leads."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.leading = asyncio.Event()
        self.leading.set()

    @property
    def is_leader(self) -> bool:
        return self.leading.is_set()

    def only(self, handler: Handler) -> Handler:
        """`handler`, called only while this hub leads (every hub receives every event on the
        bus; side effects that must happen once, like a post to Slack, run on the leader)."""

        async def on_the_leader(*args: Any) -> None:
            if self.is_leader:
                await handler(*args)

        on_the_leader.__qualname__ = f"leader-only {getattr(handler, '__qualname__', handler)}"
        return cast(Handler, on_the_leader)

    async def run(self, job: Job) -> None:
        """Run `job` while this hub leads (restarted when it ends or fails while leading);
        returns only when cancelled."""
        while True:
            await self.leading.wait()
            task = asyncio.create_task(job())
            lost = asyncio.create_task(self._lost())
            try:
                await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pending in (task, lost):
                    pending.cancel()
                    with suppress(asyncio.CancelledError, Exception):
                        await pending
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("leader job %s failed; running it again", self.name)
                await asyncio.sleep(1.0)

    async def _lost(self) -> None:
        await asyncio.Event().wait()  # one hub never loses the lead

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisLeader(Leader):
    """A lease on Redis: `ttl` seconds, renewed every `ttl / 3`."""

    def __init__(
        self,
        redis: Any,
        name: str,
        ttl: float = 15.0,
        hub: str | None = None,
        namespace: str = "",
    ) -> None:
        super().__init__(name)
        self.leading.clear()
        self.redis = redis
        self.ttl = ttl
        self.key = (
            f"supportbot:{namespace}:leader:{name}" if namespace else f"supportbot:leader:{name}"
        )
        self.token = hub or uuid.uuid4().hex
        self._changed = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._loop is None:
            await self._try()
            self._loop = asyncio.create_task(self._keep(), name=f"lease-{self.name}")

    async def stop(self) -> None:
        """Give the lease up at once (a clean shutdown hands over without waiting `ttl`)."""
        if self._loop is not None:
            self._loop.cancel()
            with suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        if self.is_leader:
            with suppress(Exception):
                await self.redis.eval(_RELEASE, 1, self.key, self.token)
        self._set(False)
        await self.redis.aclose()

    async def _try(self) -> None:
        milliseconds = int(self.ttl * 1000)
        try:
            if self.is_leader:
                held = bool(await self.redis.eval(_RENEW, 1, self.key, self.token, milliseconds))
            else:
                held = bool(await self.redis.set(self.key, self.token, nx=True, px=milliseconds))
        except Exception:  # Redis unreachable: we cannot know we still lead, so we do not
            log.warning("lease %s: Redis unreachable", self.name, exc_info=True)
            held = False
        self._set(held)

    def _set(self, held: bool) -> None:
        if held != self.is_leader:
            log.info("lease %s: this hub %s", self.name, "leads" if held else "no longer leads")
            if held:
                self.leading.set()
            else:
                self.leading.clear()
            self._changed.set()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            await self._try()

    async def _lost(self) -> None:
        while self.is_leader:
            self._changed.clear()
            await self._changed.wait()


def redis_client(url: str) -> Any:
    import redis.asyncio as redis  # only hubs with REDIS_URL need the client

    return redis.from_url(url)


def namespace(database_url: str) -> str:
    """Hubs on one database are one cluster: their keys and events carry this, so two
    deployments (or two test runs) sharing a Redis never see each other's."""
    return hashlib.sha256(database_url.encode()).hexdigest()[:12]


def make_locks(redis_url: str | None, space: str = "") -> Locks:
    return RedisLocks(redis_client(redis_url), namespace=space) if redis_url else Locks()


def make_leader(redis_url: str | None, name: str, space: str = "") -> Leader:
    if not redis_url:
        return Leader(name)
    return RedisLeader(redis_client(redis_url), name, namespace=space)
