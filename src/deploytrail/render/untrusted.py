"""Text from commits, authors and chat is untrusted: the pieces every renderer shares.

Each target format (JIRA wiki markup, Markdown, plain chat text) adds its own escaping on top of
:func:`one_line`; links are only ever built from :func:`safe_url`, and a renderer marks what it
built itself as :class:`Made` so its template ``finalize`` leaves exactly that alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

__all__ = ["INVISIBLE", "Made", "finalizer", "one_line", "safe_url"]

# Line breaks, tabs and other separators become spaces: a value never starts a new line.
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
#: Control characters, bidi overrides and zero-width characters: dropped from shown text.
INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff"
    "\ufff9-\ufffb]"
)


class Made(str):
    """Text a renderer built itself, safely (a link, a list of keys): not escaped again."""


def one_line(value: object, limit: int) -> str:
    """``value`` as one line of visible text, at most ``limit`` characters (cut with ``…``)."""
    text = INVISIBLE.sub("", _BREAKS.sub(" ", str(value)))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe_url(url: object, safe: str) -> str | None:
    """An http(s) URL percent-encoded except for ``safe``; None for anything else."""
    text = str(url or "").strip()
    if not re.match(r"^https?://[^\s/]", text, re.I) or INVISIBLE.search(text):
        return None
    return quote(text, safe=safe)


def finalizer(escape: Callable[[object], str]) -> Callable[[object], str]:
    """A Jinja ``finalize``: every value a template prints is escaped, except numbers, nothing
    (``None``) and what the renderer :class:`Made` itself."""

    def finalize(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, Made):
            return str(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return escape(value)

    return finalize
