"""One notion of an e-mail address: `name@example.com`, a plausibility check (not RFC 5322).
Found in a customer's message (`email_in`, left while we are closed) and checked where a page
tells us who the customer is (`is_email`)."""

from __future__ import annotations

import re

MAX_EMAIL = 254
ADDRESS = (
    r"[A-Za-z0-9._%+'\-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}"
)
_FOUND = re.compile(ADDRESS)
_WHOLE = re.compile(rf"^{ADDRESS}$")


def email_in(text: str) -> str | None:
    """The first e-mail address in `text`, if any (at most MAX_EMAIL characters)."""
    found = _FOUND.search(text or "")
    return found.group(0) if found and len(found.group(0)) <= MAX_EMAIL else None


def is_email(value: str) -> bool:
    """Whether `value` is one e-mail address and nothing else."""
    return len(value) <= MAX_EMAIL and _WHOLE.match(value) is not None
