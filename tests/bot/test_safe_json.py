"""Untrusted JSON: every malformed shape is a BadInput with a message, never an exception."""

from __future__ import annotations

import pytest

from bot.safe_json import MAX_DEPTH, BadInput, loads, loads_object


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"[" * 10_000 + b"]" * 10_000, "nested more than"),
        (b'{"text": "\\ud800"}', "unpaired surrogate"),
        (b'{"text": "a\\u0000b"}', "NUL"),
        (b'{"x\\u0000": 1}', "NUL"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b'{"text": "caf\xe9"}', "not valid UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_malformed_input_is_refused_with_a_reason(raw: bytes, says: str):
    with pytest.raises(BadInput, match=says) as error:
        loads(raw)
    assert error.value.status == 400


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert loads(b'{"text": "' + b"[{" * 100 + b'"}') == {"text": "[{" * 100}


def test_nesting_up_to_the_limit_is_fine():
    raw = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(raw) == eval(raw)


def test_real_text_in_every_script_passes():
    text = "Zaboravio sam lozinku, ćevapi — Забыл пароль — رمزم را فراموش کردم 👍"
    assert loads_object(f'{{"text": "{text}"}}'.encode()) == {"text": text}


def test_an_object_is_required_where_one_is_expected():
    with pytest.raises(BadInput, match="must be a JSON object"):
        loads_object(b"[1, 2]")
