"""The agent password policy: long enough, not a common password, not the username, not one
character repeated. Used when an account is created and when its password is reset."""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

MIN_LENGTH = 10
# a password that is a common one with digits or symbols tacked on ("iloveyou2024!") is common too
_TRAILING = string.digits + string.punctuation + " "


class WeakPassword(ValueError):
    """The password breaks the policy; the message says why, for the person choosing it."""


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list (bot/console/common_passwords.txt), lowercased."""
    text = (
        resources.files("bot.console").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line and not line.startswith("# ")
    )


def check_password(password: str, username: str) -> None:
    """Raise WeakPassword with a clear reason, or return if the password is acceptable."""
    lowered = password.lower()
    common = common_passwords()
    if lowered in common or lowered.rstrip(_TRAILING) in common:
        raise WeakPassword(
            "password: this is one of the most common passwords, tried first by anyone guessing; "
            "choose another (a few unrelated words make a good one)"
        )
    name = username.lower()
    if lowered == name or (len(name) >= 4 and name in lowered):
        raise WeakPassword("password: must not contain the username")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"password: at least {MIN_LENGTH} characters")
    if len(set(password)) == 1:
        raise WeakPassword("password: must not be one character repeated")
