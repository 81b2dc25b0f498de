"""Timestamps as deploytrail writes them: ISO-8601 UTC with milliseconds and a ``Z``."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["parse_iso", "utc_now_iso"]


def utc_now_iso() -> str:
    """Now, e.g. ``2026-11-26T23:30:00.123Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse what :func:`utc_now_iso` (or another ISO-8601 writer) produced; naive means UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
