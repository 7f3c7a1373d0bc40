"""Slack text in and out: customer text from Slack's markup, replies as escaped Block Kit.

Slack's mrkdwn gives `&`, `<` and `>` a meaning (`<!channel>`, `<@U123>`, `<https://…|link>`);
everything we post is escaped first, so a reply that quotes a customer can never ping a
channel or hide a link.
"""

from __future__ import annotations

import re
from typing import Any

from bot.messages import Button, OutgoingMessage

BUTTON_TEXT_MAX = 75  # Block Kit limits
BUTTON_VALUE_MAX = 2000
BUTTONS_MAX = 25  # elements in one actions block
SECTION_MAX = 3000
BLOCKS_MAX = 50
ACTIONS_BLOCK = "supportbot-choices"
ACTION_PREFIX = "supportbot-choice-"

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_LABELLED = re.compile(r"<([^<>|]*)\|([^<>]*)>")
_BARE = re.compile(r"<([^<>|]*)>")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def escape(text: str) -> str:
    """Text shown literally in Slack mrkdwn (the three characters Slack asks to escape)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(text: str) -> str:
    """A reply (Markdown-ish, as Rasa and the knowledge base write) as safe Slack mrkdwn."""
    return _BOLD.sub(r"*\1*", escape(text))


def _bare(match: re.Match[str]) -> str:
    inner = match.group(1)
    if inner.startswith("@"):  # a user mention: keep it readable
        return inner
    if inner.startswith(("!", "#")):  # special mentions, channels: as Slack shows them
        return "@" + inner[1:] if inner.startswith("!") else inner
    return inner


def customer_text(text: str, bot_user_id: str | None = None) -> str:
    """What the customer wrote, without Slack's markup: the bot's mention removed, links and
    mentions as their labels, entities decoded."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text)
    text = _LABELLED.sub(r"\2", text)
    text = _BARE.sub(_bare, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.strip()


def _sections(text: str) -> list[dict[str, Any]]:
    body = to_mrkdwn(text)
    chunks = [body[i : i + SECTION_MAX] for i in range(0, len(body), SECTION_MAX)]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks]


def _button(index: int, button: Button) -> dict[str, Any]:
    title = button.title or button.payload or "…"
    if len(title) > BUTTON_TEXT_MAX:
        title = title[: BUTTON_TEXT_MAX - 1] + "…"
    return {
        "type": "button",
        "action_id": f"{ACTION_PREFIX}{index}",
        "text": {"type": "plain_text", "text": title, "emoji": True},
        "value": (button.payload or button.title)[:BUTTON_VALUE_MAX],
    }


def render(message: OutgoingMessage) -> dict[str, Any] | None:
    """`chat.postMessage` arguments (`text` + `blocks`) for one reply; None if nothing shows."""
    buttons = message.buttons[:BUTTONS_MAX]
    if not message.text.strip() and not buttons:
        return None
    blocks = _sections(message.text) if message.text.strip() else []
    blocks = blocks[: BLOCKS_MAX - 1]
    if buttons:
        blocks.append(
            {
                "type": "actions",
                "block_id": ACTIONS_BLOCK,
                "elements": [_button(i, b) for i, b in enumerate(buttons)],
            }
        )
    fallback = message.text.strip() or " / ".join(b.title for b in buttons)
    return {"text": escape(fallback), "blocks": blocks}


def chosen(blocks: list[dict[str, Any]], user_id: str, title: str) -> list[dict[str, Any]]:
    """The blocks of a message whose button was clicked: the buttons replaced by the choice."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    who = f"<@{user_id}> chose" if _USER_ID.match(user_id) else "Chosen:"
    note = f"{who} *{escape(title)}*"
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]
