"""How the Slack agent desk shows a handoff: Block Kit for the channel message, mrkdwn lines for
its thread. Every piece of customer (or Slack user) text is escaped, so nobody can inject
`<!channel>`, mentions or links."""

from __future__ import annotations

import re
from typing import Any

from bot.conversation.surveys import LowScore

CLAIM = "desk_claim"
RESOLVE = "desk_resolve"
RESOLVE_QUIET = "desk_resolve_quiet"  # resolve without asking the customer for a rating
SECTION_LIMIT = 2900  # Slack allows 3000 characters in a section's text
LAST_MESSAGES = 3


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: the only three characters with control meaning."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def _button(text: str, action_id: str, handoff_id: int, style: str) -> dict[str, Any]:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": str(handoff_id),
    }
    if style:  # Slack knows primary and danger; without one: the default look
        button["style"] = style
    return button


def status_line(status: str, agent_name: str | None, survey_skipped: bool = False) -> str:
    who = escape(agent_name or "an agent")
    if status == "resolved" and survey_skipped:
        return f":white_check_mark: Resolved by *{who}* without a survey; back with the bot."
    return {
        "queued": ":hourglass: Waiting for an agent: press *Claim* to take it.",
        "claimed": f":raising_hand: Claimed by *{who}*: reply in this thread to answer the "
        "customer (start with `note:` for a private note).",
        "resolved": f":white_check_mark: Resolved by *{who}*; back with the bot, which asks the "
        "customer for a rating.",
        "withdrawn": ":robot_face: Withdrawn: the bot is back and answered the customer itself.",
    }.get(status, f"Status: {escape(status)}")


def handoff_message(
    context: dict[str, Any], agent_name: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and blocks of the channel message for a handoff (its whole context, as
    `HandoffViews.context` gives it) in its current status."""
    item, summary = context["handoff"], context["summary"]
    handoff_id = int(item["id"])
    name = escape(clip(item["customer_name"], 80))
    headline = (
        f"*Handoff #{handoff_id}* · {name} · {escape(item['channel'])} · "
        f"language {escape(item['language'] or '?')} · reason *{escape(item['reason'])}* · "
        f"priority {item['priority']}"
    )
    lines = [f"*Problem:* {escape(clip(summary['first_problem']))}"]
    if summary["last_message"] and summary["last_message"] != summary["first_problem"]:
        lines.append(f"*Last message:* {escape(clip(summary['last_message']))}")
    for question in summary["unanswered"][-3:]:
        lines.append(f"*Unanswered:* {escape(clip(question, 200))}")
    said = [m["text"] for m in context["transcript"] if m["sender"] == "customer"]
    recent = "\n".join(f"> {escape(clip(text, 300))}" for text in said[-LAST_MESSAGES:])
    blocks = [_section(headline), _section("\n".join(lines))]
    if recent:
        blocks.append(_section(f"*Last customer messages:*\n{recent}"))
    status = item["status"]
    footer = status_line(status, agent_name, bool(item.get("survey_skipped")))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    if status == "queued":
        blocks.append(
            {"type": "actions", "elements": [_button("Claim", CLAIM, handoff_id, "primary")]}
        )
    elif status == "claimed":
        resolve = _button("Resolve", RESOLVE, handoff_id, "danger")
        quiet = _button("Resolve without survey", RESOLVE_QUIET, handoff_id, "")
        blocks.append({"type": "actions", "elements": [resolve, quiet]})
    text = f"Handoff #{handoff_id}: {name} on {escape(item['channel'])} ({escape(item['reason'])})"
    return text, blocks


def thread_line(who: str, text: str) -> str:
    """A message of the conversation, as posted into the handoff's thread."""
    return f"*{escape(clip(who, 80))}:* {escape(text)}"


_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<[@#!]([^>|]+)(?:\|([^>]*))?>")


def from_slack(text: str) -> str:
    """An agent's Slack message as plain text for the customer: links become "label (url)",
    mentions their label, and Slack's &amp; &lt; &gt; the characters they stand for."""

    def link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2)
        shown = url.removeprefix("mailto:")
        return f"{label} ({shown})" if label and label != shown else shown

    text = _LINK.sub(link, text)
    text = _SPECIAL.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def low_score_message(alert: LowScore) -> tuple[str, list[dict[str, Any]]]:
    """The desk channel's alert for a low csat rating: score, customer, channel, who resolved,
    and the customer's "what went wrong?" comment once it is there (all escaped)."""
    who = escape(clip(alert.customer or f"{alert.channel} customer", 80))
    where = f"handoff #{alert.handoff_id}" if alert.handoff_id else escape(alert.conversation)
    resolved = f" · resolved by *{escape(alert.agent)}*" if alert.agent else ""
    headline = (
        f":warning: *Low rating {alert.score}/5* from {who} · {escape(alert.channel)} · "
        f"language {escape(alert.language or '?')} · {where}{resolved}"
    )
    comment = (
        f"*What went wrong:* {escape(clip(alert.comment, 1000))}"
        if alert.comment
        else "_No comment yet: the customer was asked what went wrong._"
    )
    text = f"Low rating {alert.score}/5 from {who} ({where})"
    return text, [_section(headline), _section(comment)]
