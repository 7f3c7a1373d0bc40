"""One notion of an e-mail address for the whole hub: what a closed-hours customer writes and
what a shop's page says about its customer are read the same way."""

from __future__ import annotations

import pytest

from bot.emails import email_in, is_email


@pytest.mark.parametrize(
    "value",
    ["ana@example.com", "o'brien@shop.co.uk", "ana.k+orders@mail.example.ba"],
)
def test_addresses_customers_have_are_accepted_and_found(value: str) -> None:
    assert is_email(value)
    assert email_in(f"please write to {value}, thanks") == value


@pytest.mark.parametrize(
    "value",
    ["ana@localhost", "a b@x.com", "x@-bad.com", "ana@example.com<script>", "@example.com"],
)
def test_what_is_not_one_address_is_refused(value: str) -> None:
    assert not is_email(value)


def test_an_address_longer_than_the_standard_allows_is_not_taken() -> None:
    long = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com"
    assert len(long) > 254
    assert not is_email(long) and email_in(long) is None
