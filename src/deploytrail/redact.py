"""Keep secrets out of everything deploytrail prints, logs, raises or writes."""

from __future__ import annotations

import os
import re

__all__ = ["SECRET_ENV_SUFFIXES", "mask_url", "redact", "remember", "secret_values", "shorten"]

#: Environment variables whose names end like this hold secrets.
SECRET_ENV_SUFFIXES = ("TOKEN", "PASSWORD", "SECRET", "API_KEY", "APIKEY")

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^/@\s]+)@")
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&](?:token|access_token|password|apikey|api_key|key|secret)=)[^&#\s]+", re.I
)


def mask_url(url: str) -> str:
    """Return ``url`` with any password, token or user:password part replaced by ``***``."""
    url = _USERINFO.sub(lambda m: f"{m['scheme']}***@", url)
    return _QUERY_SECRET.sub(lambda m: f"{m['key']}***", url)


def shorten(text: str, limit: int = 300) -> str:
    """One line, at most ``limit`` characters, for quoting what a server said."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


#: Secret values this process was given some other way (a password param on the command line,
#: or one whose variable name does not look secret, such as DEPLOYTRAIL_CHAT).
_REMEMBERED: set[str] = set()


def remember(value: str) -> None:
    """Treat ``value`` (and its last word, the token of ``Authorization: Bearer TOKEN``) as a
    secret in everything redacted from now on."""
    words = value.split()
    for piece in (value.strip(), words[-1] if len(words) > 1 else ""):
        if len(piece) >= 8 or (piece == value.strip() and len(piece) >= 4):
            _REMEMBERED.add(piece)


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Every secret-looking ``DEPLOYTRAIL_*``/``TEAMCITY_*`` variable's value (4+ chars), and
    (for the process environment) the values given to :func:`remember`."""
    env = os.environ if environ is None else environ
    values = set(_REMEMBERED) if environ is None else set()
    for name, value in env.items():
        ours = name.startswith(("DEPLOYTRAIL_", "TEAMCITY_"))
        if ours and name.upper().endswith(SECRET_ENV_SUFFIXES) and len(value) >= 4:
            values.add(value)
    return sorted(values, key=lambda v: (-len(v), v))


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Replace every known secret value in ``text`` by ``***`` and mask URLs."""
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, "***")
    return _USERINFO.sub(lambda m: f"{m['scheme']}***@", text)
