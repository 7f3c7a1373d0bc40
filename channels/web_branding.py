"""The widget's branding from a settings file the hub serves (WIDGET_SETTINGS_FILE, JSON or
YAML): title, colours, greeting, avatar, position, language and launcher label.

Every value is checked here (and again by the widget, which also checks its data attributes):
colours only `#rgb`/`#rrggbb`, the avatar only an http(s) URL or a path on the hub, the
position from a fixed list, texts of bounded length. A bad value is dropped and named in
`errors`; a file that cannot be read or parsed gives no branding and one clear error. The file
is read again when it changes, so a shop edits it without restarting the hub."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

log = logging.getLogger(__name__)
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
POSITIONS = ("bottom-right", "bottom-left")
MAX_FILE_BYTES = 64 * 1024


def _text(limit: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        value = value.strip()
        if not value:
            return "must not be empty"
        if len(value) > limit:
            return f"must be at most {limit} characters"
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            return "must not contain control characters"
        return None

    return check


def _color(value: str) -> str | None:
    return None if COLOR.match(value) else "must be a colour like #2457d6 or #25d"


def _avatar(value: str) -> str | None:
    if len(value) > 500:
        return "must be at most 500 characters"
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in value):
        return "must be a URL without spaces or backslashes"
    if value.startswith("/") and not value.startswith("//"):
        return None  # a path on the hub
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return None
    return "must be an http(s) URL or a path starting with /"


def _position(value: str) -> str | None:
    return None if value in POSITIONS else f"must be one of {', '.join(POSITIONS)}"


def _lang(value: str) -> str | None:
    return None if LANGUAGE.match(value) else 'must be a language tag such as "hr" or "sr-Cyrl"'


# a setting's key in the file (data-<key with - for _> on the script tag) → its check
FIELDS: dict[str, Callable[[str], str | None]] = {
    "title": _text(60),
    "greeting": _text(500),
    "launcher_label": _text(40),
    "color": _color,  # the primary colour: launcher, header, the customer's bubbles
    "accent_color": _color,  # buttons and the Send button
    "text_color": _color,  # text on the primary colour
    "avatar": _avatar,  # an image beside the title (the bot's / agent's side)
    "position": _position,
    "lang": _lang,
}


@dataclass(frozen=True)
class Branding:
    settings: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "errors": self.errors}


def check(data: Any, where: str) -> Branding:
    """The valid settings of a parsed file, and an error for each value left out."""
    if not isinstance(data, dict):
        return Branding(errors=[f"{where}: expected a mapping of settings such as title: ..."])
    settings: dict[str, str] = {}
    errors: list[str] = []
    for key, value in data.items():
        name = str(key)
        if name not in FIELDS:
            errors.append(f"{where}: unknown setting {name!r} (known: {', '.join(FIELDS)})")
        elif not isinstance(value, str):
            errors.append(f"{where}: {name!r} must be a string, not {type(value).__name__}")
        elif problem := FIELDS[name](value):
            errors.append(f"{where}: {name!r} {problem}; ignored")
        else:
            settings[name] = value.strip()
    return Branding(settings, errors)


def parse(path: Path) -> Branding:
    """Read and check the file; never raises."""
    where = path.name
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_FILE_BYTES:
            return Branding(errors=[f"{where}: larger than {MAX_FILE_BYTES} bytes"])
        text = raw.decode("utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() in (".yml", ".yaml"):
            data = yaml.safe_load(text)
        else:
            return Branding(errors=[f"{where}: name a .json, .yml or .yaml file"])
    except FileNotFoundError:
        return Branding(errors=[f"{where}: no such file ({path})"])
    except (OSError, UnicodeDecodeError) as exc:
        return Branding(errors=[f"{where}: cannot be read: {exc}"])
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        return Branding(errors=[f"{where}: not valid {path.suffix[1:].upper()}: {exc}"])
    return check(data, where)


class BrandingFile:
    """The settings file, parsed again only when its size or modification time changes."""

    def __init__(self, path: str) -> None:
        self.path = Path(path) if path else None
        self._seen: tuple[int, int] | None = None
        self._branding = Branding()

    def current(self) -> Branding:
        if self.path is None:
            return self._branding
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = (-1, -1)
        if stamp != self._seen:
            self._seen = stamp
            self._branding = parse(self.path)
            for error in self._branding.errors:
                log.error("widget settings %s", error)
        return self._branding
