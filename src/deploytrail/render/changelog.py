"""The changelog as text (terminal), Markdown (tickets, chat) or JSON (machines).

Commit text is untrusted: the text form drops control characters (no terminal escapes), the
Markdown form escapes every character Markdown or HTML would act on, so a commit message can
never add a link, a heading, a mention of ``@channel`` or markup to a ticket or a chat room.
"""

from __future__ import annotations

import json
import re
from typing import Any

from deploytrail.commits import Changes, Commit

__all__ = ["changelog_json", "escape_markdown", "headline", "render", "render_json",
           "render_markdown", "render_text"]

#: A summary longer than this is cut in the text and Markdown forms (the record keeps it all).
SUMMARY_LIMIT = 200

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Every listed line starts with the commit link, so line-start markers (- + 1. #) need no care.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~>@])")
# GitHub and most chat renderers link a bare "https://…" or "www.…" by themselves; an escaped
# ":" or "." (shown as itself) stops that, so commit text never becomes a link.
_AUTOLINK = re.compile(r"(?i)(\w)(:(?=//)|\.(?<=www\.))")


def _clean(text: str, limit: int = SUMMARY_LIMIT) -> str:
    text = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", " ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_markdown(text: str) -> str:
    """``text`` shown literally in Markdown (CommonMark, GitHub, Slack-style, Mattermost)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _AUTOLINK.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", text))


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "?"


def headline(service: str, environment: str, changes: Changes) -> str:
    """One sentence saying what goes out, in plain words (a rollback is said as such)."""
    where = f"{service} → {environment}"
    prev, rev, n = _short(changes.previous_revision), _short(changes.revision), changes.total
    commits = f"{n} commit{'s' if n != 1 else ''}"
    if changes.status == "ahead":
        return f"{where}: {commits} since the previous release {prev}"
    if changes.status == "identical":
        return f"{where}: no new commits — {rev} is the revision already released"
    if changes.status == "behind":
        return (
            f"{where}: ROLLBACK — {rev} is {changes.behind_by} commit(s) behind the previous "
            f"release {prev}; no new commits go out and {changes.behind_by} are taken back"
        )
    if changes.status == "diverged":
        return (
            f"{where}: DIVERGED — {rev} is not a descendant of the previous release {prev}: "
            f"{commits} go out and {changes.behind_by} commit(s) of the previous release are "
            f"not in this one"
        )
    more = " (only the newest are listed)" if changes.truncated else ""
    return f"{where}: first recorded release, no previous revision to compare — {commits}{more}"


def _meta(commit: Commit) -> str:
    parts = [commit.author or "unknown author", commit.authored_at[:10]]
    if commit.issue_keys:
        parts.append(", ".join(commit.issue_keys))
    return " · ".join(p for p in parts if p)


def render_text(service: str, environment: str, changes: Changes) -> str:
    lines = [headline(service, environment, changes)]
    for commit in changes.commits:
        merge = "merge: " if commit.is_merge else ""
        summary = _clean(commit.summary) or "(no message)"
        lines.append(f"  {commit.sha[:12]}  {merge}{summary}  ({_clean(_meta(commit), 120)})")
    if changes.compare_url:
        lines.append(f"compare: {changes.compare_url}")
    return "\n".join(lines)


def _md_link(commit: Commit) -> str:
    short = f"`{commit.sha[:12]}`"
    if not commit.url or not commit.url.startswith(("https://", "http://")):
        return short
    url = commit.url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
    return f"[{short}]({url})"


def render_markdown(service: str, environment: str, changes: Changes) -> str:
    title = escape_markdown(headline(service, environment, changes))
    lines = [f"**{title}**", ""]
    for commit in changes.commits:
        merge = "*merge* " if commit.is_merge else ""
        summary = escape_markdown(_clean(commit.summary)) or "*\\(no message\\)*"
        meta = escape_markdown(_clean(_meta(commit), 120))
        lines.append(f"- {_md_link(commit)} {merge}{summary} — {meta}")
    if changes.compare_url:
        lines += ["", f"[Compare {_short(changes.previous_revision)}…{_short(changes.revision)}]"
                      f"({changes.compare_url.replace(')', '%29')})"]
    return "\n".join(lines).rstrip() + "\n"


def changelog_json(service: str, environment: str, changes: Changes) -> dict[str, Any]:
    return {
        "service": service,
        "environment": environment,
        "previous_revision": changes.previous_revision,
        "revision": changes.revision,
        "status": changes.status,
        "total": changes.total,
        "commits": [c.to_json() for c in changes.commits],
    }


def render_json(service: str, environment: str, changes: Changes) -> str:
    return json.dumps(changelog_json(service, environment, changes), indent=2,
                      ensure_ascii=False)


def render(fmt: str, service: str, environment: str, changes: Changes) -> str:
    renderers = {"text": render_text, "markdown": render_markdown, "json": render_json}
    return renderers[fmt](service, environment, changes)
