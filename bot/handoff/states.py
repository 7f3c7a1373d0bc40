"""A conversation's state and its handoff's status, and the one function that moves them.

```
                 request (reason)              claim (atomic)
        ┌─────┐ ────────────────► ┌────────┐ ─────────────────► ┌────────────┐
 new ──►│ bot │                   │ queued │                    │ with_agent │──┐ transfer
        └─────┘ ◄──────────────── └────────┘                    └────────────┘◄─┘
           ▲     withdraw (bot_error, │                               │
           │     the bot recovered)   │ resolve                       │ resolve (note)
           └──────────────────────────┴───────────────────────────────┘
```

Both are stored as their string values (`"with_agent"`, `"claimed"`): a `StrEnum` member equals
its value, so rows read back compare equal to the members.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class State(StrEnum):
    """Who answers the customer."""

    BOT = "bot"
    QUEUED = "queued"  # waiting for an agent
    WITH_AGENT = "with_agent"


class Status(StrEnum):
    """Where one handoff stands."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"  # the bot recovered before anyone claimed it (bot_error)


class Action(StrEnum):
    REQUEST = "request"
    CLAIM = "claim"
    TRANSFER = "transfer"
    RESOLVE = "resolve"
    WITHDRAW = "withdraw"


class Step(NamedTuple):
    state: State  # the conversation's, after the action
    status: Status  # the handoff's, after the action


TRANSITIONS: dict[tuple[State, Action], Step] = {
    (State.BOT, Action.REQUEST): Step(State.QUEUED, Status.QUEUED),
    (State.QUEUED, Action.CLAIM): Step(State.WITH_AGENT, Status.CLAIMED),
    (State.WITH_AGENT, Action.TRANSFER): Step(State.WITH_AGENT, Status.CLAIMED),
    (State.QUEUED, Action.RESOLVE): Step(State.BOT, Status.RESOLVED),
    (State.WITH_AGENT, Action.RESOLVE): Step(State.BOT, Status.RESOLVED),
    (State.QUEUED, Action.WITHDRAW): Step(State.BOT, Status.WITHDRAWN),
}
OPEN: tuple[Status, ...] = (Status.QUEUED, Status.CLAIMED)  # an agent still has to act
WITH_PEOPLE: tuple[State, ...] = (State.QUEUED, State.WITH_AGENT)  # Rasa stays silent


class TransitionError(Exception):
    """`action` is not allowed in `state` (e.g. claiming a conversation the bot has)."""


def transition(state: str, action: Action) -> Step:
    """Where `action` takes a conversation in `state` (and its handoff), or TransitionError."""
    try:
        return TRANSITIONS[(State(state), action)]
    except (KeyError, ValueError):
        raise TransitionError(f"cannot {action} a conversation that is '{state}'") from None
