"""The change ticket's summary and description (JIRA wiki markup) from a Jinja2 template.

The template runs in Jinja's immutable sandbox. Every ``{{ value }}`` is escaped for JIRA wiki
markup on the way out (Jinja's ``finalize``): a commit message cannot open a macro (``{code}``,
``{html}``), a link (``[x|y]``), a table cell, bold or a list, and cannot start a new line.
Template code inside a value is data, never evaluated. ``link(label, url)`` is the one way to
make a link (label escaped, URL http(s) only, percent-encoded); ``keys(list)`` prints issue keys
so JIRA links them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from deploytrail.errors import ConfigError
from deploytrail.record import ReleaseRecord
from deploytrail.render.untrusted import Made, finalizer, one_line, safe_url

__all__ = [
    "DEFAULT_TEMPLATE",
    "MAX_DESCRIPTION",
    "Ticket",
    "escape_wiki",
    "render_ticket",
    "ticket_summary",
]

DEFAULT_TEMPLATE = "ccb_description.jira.j2"
#: JIRA rejects longer text fields (Server, Data Center and Cloud alike).
MAX_DESCRIPTION = 32767
#: Longest piece of one commit's text in the ticket (a 100 KB message becomes one line).
MAX_TEXT = 200

# Characters that start wiki markup: macros {x}, links [x], tables |, bold *, italic _,
# strike -, underline +, sup ^, sub ~, citation ??, image !, numbered list #.
_WIKI = re.compile(r"[\\{}\[\]|*_\-+^~?!#]")
_BLOCK_START = re.compile(r"^(h[1-6]|bq)\.", re.I)
_KEY = re.compile(r"[A-Z][A-Z0-9_]+-[1-9][0-9]{0,9}")
_URL_SAFE = "/:?#@$&'()*+,;=%-._~"


def escape_wiki(value: object, limit: int = MAX_TEXT) -> str:
    """One line of literal text in JIRA wiki markup: every markup character escaped."""

    def one(match: re.Match[str]) -> str:
        char = match.group()
        # A doubled backslash is a line break in wiki markup, so a backslash is an entity.
        return "&#92;" if char == "\\" else "\\" + char

    text = _WIKI.sub(one, one_line(value, limit))
    # "h1. " and "bq. " make a heading or a quote when a template puts a value at a line start.
    return _BLOCK_START.sub(r"\1&#46;", text)


def ticket_summary(record: ReleaseRecord) -> str:
    """``Release api 1.4.2 to production (12 commits)``: one line, at most 255 characters.

    A rollback says so in the summary itself (``ROLLBACK api 1.4.1 to production (3 commits
    taken back)``), and so does a revision that diverged from the previous release or is the
    same: a change board reading the ticket list must not mistake one for a normal release.
    """
    what = record.version or (record.revision or "")[:12] or record.build_number or "new build"
    count = record.commit_count
    commits = f"{count} commit{'' if count == 1 else 's'}"
    behind = _behind_by(record)
    verb, detail = "Release", commits
    if record.changelog_status == "behind":
        verb = "ROLLBACK"
        detail = f"{behind} commit{'' if behind == 1 else 's'} taken back" if behind else (
            "behind the previous release")
    elif record.changelog_status == "diverged":
        detail = f"{commits}, DIVERGED from the previous release"
        if behind:
            detail += f": {behind} of its commits not included"
    elif record.changelog_status == "identical":
        detail = "no new commits, same revision as the previous release"
    return one_line(f"{verb} {record.service} {what} to {record.environment} ({detail})", 255)


def _behind_by(record: ReleaseRecord) -> int:
    """Commits of the previous release this one does not contain (``deploytrail changelog``)."""
    found = (record.notes.get("changelog") or {}).get("behind_by")
    return found if isinstance(found, int) and found > 0 else 0


def link(label: object, url: object = None) -> Made:
    target = safe_url(url, _URL_SAFE)
    shown = escape_wiki(label) or "link"
    return Made(f"[{shown}|{target}]" if target else shown)


def keys(values: object) -> Made:
    found = [str(v) for v in (values or []) if _KEY.fullmatch(str(v))]  # type: ignore[attr-defined]
    return Made(", ".join(found))


@dataclass(frozen=True)
class Ticket:
    summary: str
    description: str
    shown_commits: int


def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, finalize=finalizer(escape_wiki), autoescape=False,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
    )
    env.globals.update(link=link, keys=keys)
    env.filters.update(link=link, keys=keys)
    return env


def _load(template: str | None) -> tuple[str, str]:
    if template is None:
        source = resources.files("deploytrail").joinpath("templates").joinpath(DEFAULT_TEMPLATE)
        return source.read_text(encoding="utf-8"), DEFAULT_TEMPLATE
    path = Path(template)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read the ticket template {path}: {exc}",
            hint="--template must name a readable UTF-8 Jinja2 file; omit it for the default",
        ) from exc


def _commit(commit: dict[str, Any]) -> dict[str, Any]:
    sha = str(commit.get("sha") or "")
    return {
        "sha": sha,
        "short_sha": sha[:10],
        "summary": commit.get("summary") or str(commit.get("message") or "").split("\n")[0],
        "message": commit.get("message") or "",
        "author": commit.get("author") or "",
        "authored_at": commit.get("authored_at") or "",
        "url": commit.get("url"),
        "issue_keys": list(commit.get("issue_keys") or []),
        "is_merge": bool(commit.get("is_merge")),
    }


def context(record: ReleaseRecord, label: str, shown: int) -> dict[str, Any]:
    """What a template can use (documented in docs/audit.md)."""
    commits = [_commit(c) for c in record.commits]
    return {
        "service": record.service,
        "environment": record.environment,
        "version": record.version,
        "revision": record.revision,
        "revision_short": (record.revision or "")[:10],
        "previous_revision": record.previous_revision,
        "changelog_status": record.changelog_status,
        "behind_by": _behind_by(record),
        "compare_url": record.compare_url,
        "build_number": record.build_number,
        "build_url": record.build_url,
        "triggered_by": record.triggered_by,
        "deployment_id": record.deployment_id,
        "started_at": record.started_at,
        "label": label,
        "summary": ticket_summary(record),
        "commit_count": len(commits),
        "commits": commits[:shown],
        "omitted": max(0, len(commits) - shown),
    }


def render_ticket(record: ReleaseRecord, label: str, template: str | None = None) -> Ticket:
    """Summary and description; commits are left out (and counted) until it fits JIRA."""
    from jinja2 import TemplateError

    source, name = _load(template)
    try:
        compiled = _environment().from_string(source)
    except TemplateError as exc:
        raise _template_error(name, exc) from exc

    def render(shown: int) -> str:
        return str(compiled.render(context(record, label, shown)))

    shown = record.commit_count
    try:
        text = render(shown)
        while len(text) > MAX_DESCRIPTION and shown > 0:
            shown = min(shown - 1, int(shown * MAX_DESCRIPTION / len(text) * 0.95))
            text = render(max(shown, 0))
    except TemplateError as exc:
        raise _template_error(name, exc) from exc
    if len(text) > MAX_DESCRIPTION:
        raise ConfigError(
            f"the ticket template {name} renders {len(text)} characters without any commit; "
            f"JIRA takes at most {MAX_DESCRIPTION}",
            hint="shorten the template",
        )
    return Ticket(summary=ticket_summary(record), description=text, shown_commits=max(shown, 0))


def _template_error(name: str, exc: Exception) -> ConfigError:
    line = getattr(exc, "lineno", None)
    where = f"{name}, line {line}" if line else name
    return ConfigError(
        f"the ticket template {where} cannot be rendered: {exc}",
        hint="fix the template; docs/audit.md lists the variables a ticket template can use",
    )
