"""Neutral message types: channels translate vendor updates to and from these."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.i18n import t


@dataclass(frozen=True)
class Customer:
    """Who wrote, as the channel knows them."""

    external_id: str
    display_name: str | None = None
    language: str | None = None
    email: str | None = None  # when the customer or the shop gave it
    # what the shop passes about the customer (plan, order number, page URL), strings only
    attributes: dict[str, str] | None = None


@dataclass(frozen=True)
class IncomingMessage:
    channel: str
    chat_id: str  # the vendor's chat / session id; with `channel` it keys the conversation
    text: str
    customer: Customer
    vendor_message_id: str | None = None  # for de-duplication of retried deliveries
    language: str | None = None
    attachment: str | None = None  # "photo", "voice"...: not text; `text` describes it

    @property
    def conversation_key(self) -> str:
        return f"{self.channel}:{self.chat_id}"


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


ASK_HUMAN = "/ask_human"  # the Rasa intent a "Talk to a person" button sends


def human_button(language: str | None) -> Button:
    """The "Talk to a person" button, titled in the customer's language."""
    return Button(t("human_button", language), ASK_HUMAN)


@dataclass(frozen=True)
class OutgoingMessage:
    text: str = ""
    buttons: list[Button] = field(default_factory=list)
    custom: dict[str, Any] | None = None  # e.g. {"handoff": {...}}
    sender: str = "bot"  # bot | agent | system

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text, "buttons": [b.to_dict() for b in self.buttons]}
        if self.custom:
            data["custom"] = self.custom
        data["sender"] = self.sender
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutgoingMessage:
        """The inverse of `to_dict` (a message that crossed the event bus)."""
        sender = str(data.get("sender") or "bot")
        return replace(cls.from_rasa(data), sender=sender)

    @classmethod
    def from_rasa(cls, data: dict[str, Any]) -> OutgoingMessage:
        """One message of Rasa's REST channel; a custom payload may carry the message itself
        (`{"message": {"text", "buttons"}, ...}`) so that Rasa does not split its text."""
        custom = data.get("custom") if isinstance(data.get("custom"), dict) else None
        body = data
        if custom and isinstance(custom.get("message"), dict):
            body = custom["message"]
            custom = {k: v for k, v in custom.items() if k != "message"} or None
        buttons = [
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in body.get("buttons") or []
            if isinstance(b, dict)
        ]
        return cls(text=str(body.get("text") or ""), buttons=buttons, custom=custom)
