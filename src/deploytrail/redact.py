"""Keep secrets out of everything deploytrail prints, logs, raises or writes."""

from __future__ import annotations

import os
import re

__all__ = ["SECRET_ENV_SUFFIXES", "mask_url", "redact", "secret_values", "shorten"]

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


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """The values of every secret-looking ``DEPLOYTRAIL_*``/``TEAMCITY_*`` variable (4+ chars)."""
    env = os.environ if environ is None else environ
    values = []
    for name, value in env.items():
        ours = name.startswith(("DEPLOYTRAIL_", "TEAMCITY_"))
        if ours and name.upper().endswith(SECRET_ENV_SUFFIXES) and len(value) >= 4:
            values.append(value)
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Replace every known secret value in ``text`` by ``***`` and mask URLs."""
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, "***")
    return _USERINFO.sub(lambda m: f"{m['scheme']}***@", text)
