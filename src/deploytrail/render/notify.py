"""Chat messages about a release: Jinja2 templates rendered in a sandbox, every value escaped.

A template renders the whole message; its first line is the title, the rest the body. It is
rendered twice, once for Markdown targets and once for plain-text ones. Every ``{{ value }}`` is
escaped for that format on the way out (Jinja's ``finalize``), so text from a commit cannot
add links, mentions (``@channel``, ``<!here>``), HTML or formatting, and cannot end a line
early; template code inside a value is never evaluated. ``link(label, url)`` is the one way to
make a link: the label is escaped, the URL must be http(s).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from deploytrail.clients.chat import ChatMessage, Kind
from deploytrail.errors import ConfigError
from deploytrail.record import ReleaseRecord
from deploytrail.render.untrusted import Made, finalizer, one_line, safe_url

__all__ = [
    "MAX_COMMITS",
    "Phase",
    "clean",
    "escape_markdown",
    "escape_text",
    "load_template",
    "message_context",
    "render_message",
]

Phase = Literal["start", "finish"]

#: Commit summaries listed in a message; the rest are counted ("… and 12 more").
MAX_COMMITS = 5
#: Longest piece of commit text shown (a 100 KB commit message becomes one short line).
MAX_TEXT = 120

# @channel, @here, @everyone, @room, @user: a zero-width space keeps it from notifying anyone.
# Only an @ right after a letter or digit is left alone (bob@example.com): Mattermost strips
# leading ".-_:" from a word and splits at "+", so ".@channel" or "_@all" would still notify;
# the room-wide words are broken wherever they appear ("x@everyone").
_MENTION = re.compile(
    r"(?<![^\W_])@(?=[\w!#])|@(?=(?:everyone|here|channel|all|room|group)\b)", re.I)
_SERVICE_MESSAGE = re.compile(r"##(?=teamcity)", re.I)
_MARKDOWN = re.compile(r"([\\`*_\[\]()#!~|])")
_URL_SAFE = "/:?#[]@!$&'()*+,;=%-._~"


def clean(value: object, limit: int = MAX_TEXT) -> str:
    """One line of untrusted text, safe in any chat: no controls, no tags, no mentions."""
    # no <!here>, <at>, <a href>, <script>
    text = one_line(value, limit).replace("<", "‹").replace(">", "›")
    text = _MENTION.sub("@\u200b", text)
    return _SERVICE_MESSAGE.sub("#\u200b#", text)


def escape_text(value: object, limit: int = MAX_TEXT) -> str:
    """Plain text; ``[x](y)`` is broken too, for services that render Markdown anyway."""
    return clean(value, limit).replace("](", "]\u200b(")


def escape_markdown(value: object, limit: int = MAX_TEXT) -> str:
    """Literal text inside Markdown: every character that could format or link is escaped."""
    return _MARKDOWN.sub(r"\\\1", clean(value, limit))


def _link_maker(markdown: bool) -> Callable[[object, object], Made]:
    def link(label: object, url: object = None) -> Made:
        target = safe_url(url, _URL_SAFE)
        if markdown:
            shown = escape_markdown(label)
            return Made(f"[{shown}](<{target}>)" if target else shown)
        shown = escape_text(label)
        return Made(f"{shown} ({target})" if target else shown)

    return link


def _url_only(url: object) -> Made:
    return Made(safe_url(url, _URL_SAFE) or "")


@cache
def _environment(markdown: bool, shipped: bool = False) -> Any:
    """Shipped templates trim block lines; a custom one gets Jinja's usual whitespace rules."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    escape = escape_markdown if markdown else escape_text

    env = ImmutableSandboxedEnvironment(
        autoescape=False, finalize=finalizer(escape), undefined=StrictUndefined,
        trim_blocks=shipped, lstrip_blocks=shipped, keep_trailing_newline=False,
    )
    # These make Markup, which would otherwise look "already escaped": not for chat.
    for name in ("safe", "e", "escape", "forceescape", "urlize", "xmlattr", "tojson"):
        env.filters.pop(name, None)
    return env


def load_template(path: str | Path) -> str:
    """Read and compile a custom template; a clear :class:`ConfigError` if it cannot be used."""
    from jinja2 import TemplateSyntaxError

    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read notification template {path}: {exc}",
                          hint="give --template the path of a Jinja2 text file") from exc
    try:
        _environment(True).from_string(source)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"notification template {path}, line {exc.lineno}: {exc.message}",
                          hint="fix the Jinja2 syntax; docs/notify.md lists the variables") from exc
    return source


@cache
def _shipped(phase: Phase, markdown: bool) -> Any:
    """A shipped template, compiled once per process."""
    name = f"notify_{phase}.{'md' if markdown else 'txt'}.j2"
    folder = resources.files("deploytrail").joinpath("templates")
    source = folder.joinpath(name).read_text(encoding="utf-8")
    return _environment(markdown, shipped=True).from_string(source)


def render_message(record: ReleaseRecord, phase: Phase, *, template: str | None = None,
                   now: datetime | None = None) -> ChatMessage:
    """The message for ``phase``: from ``template`` (its source text) or the shipped ones."""
    from jinja2 import TemplateError

    context = message_context(record, phase, now=now)
    rendered: dict[bool, str] = {}
    for markdown in (True, False):
        try:
            compiled = (_shipped(phase, markdown) if template is None
                        else _environment(markdown).from_string(template))
            rendered[markdown] = compiled.render(
                **context, markdown=markdown, link=_link_maker(markdown), safe_url=_url_only)
        except TemplateError as exc:
            raise ConfigError(f"notification template failed: {exc}",
                              hint="docs/notify.md lists the variables a template can use") from exc
    title, text = _split(rendered[False])
    _, markdown_body = _split(rendered[True])
    kind = _kind(record, phase)
    return ChatMessage(title or f"{record.service} {phase}", markdown_body, text, kind)


def _split(rendered: str) -> tuple[str, str]:
    first, _, rest = rendered.strip().partition("\n")
    return first.strip(), re.sub(r"\n{3,}", "\n\n", rest.strip("\n")).rstrip()


def _kind(record: ReleaseRecord, phase: Phase) -> Kind:
    if phase == "start":
        return "info"
    return {"success": "success", "failure": "failure"}.get(record.outcome or "", "warning")  # type: ignore[return-value]


def message_context(record: ReleaseRecord, phase: Phase, *,
                    now: datetime | None = None) -> dict[str, Any]:
    """The variables a template sees (raw values: escaping happens when they are printed)."""
    commits = [_commit(c) for c in record.commits if isinstance(c, dict)]
    seconds = _duration_seconds(record, phase, now)
    release = " ".join(str(v) for v in (record.service, record.version) if v)
    return {
        "phase": phase,
        "service": record.service,
        "version": record.version,
        "release": release or "(unnamed service)",
        "environment": record.environment,
        "outcome": record.outcome or ("started" if phase == "start" else "unknown"),
        "outcome_reason": record.outcome_reason,
        "succeeded": phase == "finish" and record.outcome == "success",
        "failed": phase == "finish" and record.outcome == "failure",
        "duration": _human(seconds) if seconds is not None else None,
        "duration_seconds": seconds,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "commit_count": len(commits),
        "commits": commits,
        "shown_commits": commits[:MAX_COMMITS],
        "more_commits": max(0, len(commits) - MAX_COMMITS),
        "changelog_status": record.changelog_status,
        "changelog_truncated": record.changelog_truncated,
        "compare_url": record.compare_url,
        "ticket_key": record.ticket_key,
        "ticket_url": record.ticket_url,
        "build_number": record.build_number,
        "build_url": record.build_url,
        "triggered_by": record.triggered_by,
        "revision": record.revision,
        "short_revision": (record.revision or "")[:10] or None,
        "previous_revision": record.previous_revision,
        "deployment_id": record.deployment_id,
    }


def _commit(data: dict[str, Any]) -> dict[str, Any]:
    sha = str(data.get("sha") or "")
    summary = data.get("summary") or str(data.get("message") or "").strip().split("\n", 1)[0]
    return {"sha": sha, "short_sha": sha[:7], "summary": str(summary)[:2000],
            "author": str(data.get("author") or ""), "url": data.get("url"),
            "issue_keys": list(data.get("issue_keys") or [])}


def _duration_seconds(record: ReleaseRecord, phase: Phase, now: datetime | None) -> float | None:
    from deploytrail.timeutil import parse_iso

    if phase != "finish" or not record.started_at:
        return None
    try:
        start = parse_iso(record.started_at)
        end = parse_iso(record.finished_at) if record.finished_at else now
    except ValueError:
        return None
    return None if end is None else max(0.0, (end - start).total_seconds())


def _human(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
