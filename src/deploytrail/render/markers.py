"""Deploy marker definitions (``kibana_markers/markers.toml``): read and checked before rendering.

Each ``[[marker]]`` has a ``name`` (unique; the label on the chart), a KQL ``query`` over the
deploytrail events, a ``color`` (``#rrggbb``) and an ``icon`` from the set Kibana's annotation
editor offers; ``line_style`` (solid, dashed, dotted) is optional. An optional ``[pipeline]``
table sets what the Logstash pipeline reads: the Redis list (``redis_key``), ``batch_count``,
whether Redis wants a password (``redis_password``) and TLS (``redis_ssl``).
Every problem names the file and the marker, so a typo never reaches Kibana.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploytrail.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "ANNOTATION_ICONS",
    "LINE_STYLES",
    "Marker",
    "MarkerSet",
    "Pipeline",
    "kql_problem",
    "load_markers",
    "parse_markers",
]

#: The icons Kibana's annotation editor offers (``AvailableAnnotationIcons`` in
#: ``packages/kbn-event-annotation-common``), in its order.
ANNOTATION_ICONS = (
    "asterisk", "alert", "bell", "bolt", "bug", "circle", "editorComment", "flag", "heart",
    "mapMarker", "pinFilled", "starEmpty", "starFilled", "tag", "triangle",
)  # fmt: skip

LINE_STYLES = ("solid", "dashed", "dotted")

_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_REDIS_KEY = re.compile(r"[A-Za-z0-9_.:\-]+")
_MARKER_KEYS = {"name", "query", "color", "icon", "line_style"}
_PIPELINE_KEYS = {"redis_key", "batch_count", "redis_password", "redis_ssl"}
_OPERATORS = {"and", "or", "not"}


@dataclass(frozen=True)
class Marker:
    """One marker: a saved search, a Lens query annotation and a TSVB annotation."""

    name: str
    query: str
    color: str
    icon: str
    line_style: str = "solid"


@dataclass(frozen=True)
class Pipeline:
    """What the shipped Logstash pipeline reads: the Redis list and how many events per fetch."""

    redis_key: str = "deploytrail"
    batch_count: int = 125
    #: Logstash sends ``${DEPLOYTRAIL_REDIS_PASSWORD}``; false for a Redis without a password.
    redis_password: bool = True
    redis_ssl: bool = False


@dataclass(frozen=True)
class MarkerSet:
    markers: tuple[Marker, ...]
    pipeline: Pipeline = field(default_factory=Pipeline)


def load_markers(path: Path) -> MarkerSet:
    """Read and check a markers file; any problem is a :class:`ConfigError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: marker definitions file not found",
            hint="give the file with --markers, e.g. kibana_markers/markers.toml",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the marker definitions: {error}") from None
    return parse_markers(text, source=str(path))


def parse_markers(text: str, *, source: str = "markers.toml") -> MarkerSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}",
                          hint="fix the syntax; see the comments at the top of the file") from None
    unknown = sorted(set(data) - {"marker", "pipeline"})
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s): {', '.join(unknown)}",
                          hint="the file holds [[marker]] entries and an optional [pipeline]")
    entries = data.get("marker")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: no [[marker]] entries",
                          hint="define at least one [[marker]] with name, query, color and icon")
    markers: list[Marker] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        marker = _marker(entry, source, number)
        key = marker.name.casefold()
        if key in seen:
            raise ConfigError(
                f"{source}: marker {marker.name!r} (entry {number}) has the same name as "
                f"entry {seen[key]}",
                hint="give every marker its own name: the name is its label and its id",
            )
        seen[key] = number
        markers.append(marker)
    return MarkerSet(tuple(markers), _pipeline(data.get("pipeline", {}), source))


def _marker(entry: Any, source: str, number: int) -> Marker:
    where = f"{source}: marker entry {number}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} is not a table", hint="write each marker as [[marker]]")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where} has no name", hint='add name = "Deployment started"')
    where = f"{source}: marker {name!r} (entry {number})"
    unknown = sorted(set(entry) - _MARKER_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}",
                          hint=f"a marker has only {', '.join(sorted(_MARKER_KEYS))}")
    for key in ("query", "color", "icon"):
        if not isinstance(entry.get(key), str):
            raise ConfigError(f"{where}: {key} is missing or not a string")
    query, color, icon = entry["query"], entry["color"], entry["icon"]
    line_style = entry.get("line_style", "solid")
    problem = kql_problem(query)
    if problem:
        raise ConfigError(f"{where}: query {query!r} {problem}",
                          hint='write KQL such as event.action : "deployment-started"')
    if not _COLOR.fullmatch(color):
        raise ConfigError(f"{where}: color {color!r} is not a hex color",
                          hint='write it as "#rrggbb", e.g. "#6092c0"')
    if icon not in ANNOTATION_ICONS:
        raise ConfigError(f"{where}: icon {icon!r} is not one of Kibana's annotation icons",
                          hint="use one of: " + ", ".join(ANNOTATION_ICONS))
    if line_style not in LINE_STYLES:
        raise ConfigError(f"{where}: line_style {line_style!r} is not one of "
                          + ", ".join(LINE_STYLES))
    return Marker(name.strip(), query.strip(), color.lower(), icon, line_style)


def _pipeline(table: Any, source: str) -> Pipeline:
    where = f"{source}: [pipeline]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} is not a table")
    unknown = sorted(set(table) - _PIPELINE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}",
                          hint=f"[pipeline] has only {', '.join(sorted(_PIPELINE_KEYS))}")
    key = table.get("redis_key", Pipeline.redis_key)
    if not isinstance(key, str) or not _REDIS_KEY.fullmatch(key):
        raise ConfigError(f"{where}: redis_key {key!r} is not a plain Redis key",
                          hint="use letters, digits and _ . : - (the key= of --events redis://…)")
    batch = table.get("batch_count", Pipeline.batch_count)
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 10_000:
        raise ConfigError(f"{where}: batch_count {batch!r} must be a whole number 1–10000")
    flags = []
    for name in ("redis_password", "redis_ssl"):
        value = table.get(name, getattr(Pipeline, name))
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {name} {value!r} must be true or false")
        flags.append(value)
    return Pipeline(key, batch, *flags)


def kql_problem(query: str) -> str | None:
    """What is wrong with a KQL query's shape (empty, unbalanced, dangling), or None."""
    text = query.strip()
    if not text:
        return "is empty"
    closing = {")": "(", "}": "{"}
    stack: list[str] = []
    in_quote = escaped = False
    for char in text:
        if in_quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quote = False
        elif char == '"':
            in_quote = True
        elif char in "({":
            stack.append(char)
        elif char in closing:
            if not stack or stack[-1] != closing[char]:
                return f"has a '{char}' without a matching '{closing[char]}'"
            stack.pop()
    if in_quote:
        return "has an unclosed double quote"
    if stack:
        return f"has {len(stack)} unclosed '{stack[-1]}'"
    words = _outside_quotes(text).split()
    if words[0].lower() in {"and", "or"} or words[-1].lower() in _OPERATORS:
        return "starts or ends with a dangling and/or/not"
    if text.endswith(":") or text.startswith(":"):
        return "has a ':' with nothing on one side"
    return None


def _outside_quotes(text: str) -> str:
    """``text`` with quoted phrases replaced by a placeholder word."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', " x ", text)
