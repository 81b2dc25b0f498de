"""The commits of a release: one model for local git and GitHub, and the comparison result.

A :class:`Commit` is plain data (it goes into the release record as a dict). A
:class:`Changes` is what a source answers for ``previous...revision``: the status (``ahead``,
``identical``, ``behind``, ``diverged`` or ``first``), the counts, and the commits that go out,
newest first.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["STATUSES", "Changes", "Commit", "Status", "issue_keys"]

Status = Literal["ahead", "identical", "behind", "diverged", "first"]
STATUSES: tuple[Status, ...] = ("ahead", "identical", "behind", "diverged", "first")

# A JIRA key: project key (a capital letter, then capitals, digits or _), dash, number.
# Not part of a longer word, so "feature/PAY-142-x" and "(PAY-142)" count, "xPAY-1" does not
# (checked by hand: a look-behind in the pattern makes it three times slower).
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]+-[1-9][0-9]{0,9}(?![0-9])")
# Common tokens shaped like keys that are not issues.
_NOT_KEYS = frozenset({"UTF", "SHA", "ISO", "CVE", "RFC", "TLS", "SSL", "HTTP", "MD", "PEP", "GH"})


def issue_keys(message: str) -> list[str]:
    """JIRA-style issue keys (``PAY-142``) in ``message``, each once, in order of appearance."""
    if "-" not in message:
        return []
    found: list[str] = []
    for match in _ISSUE_KEY.finditer(message):
        start = match.start()
        if start and (message[start - 1].isalnum() or message[start - 1] in "_-"):
            continue
        key = match.group()
        if key not in found and key.partition("-")[0] not in _NOT_KEYS:
            found.append(key)
    return found


@dataclass
class Commit:
    """One commit that goes out with a release."""

    sha: str
    summary: str
    message: str
    author: str
    #: ISO-8601 with offset, e.g. ``2026-11-26T23:30:00+00:00``.
    authored_at: str
    url: str | None = None
    issue_keys: list[str] = field(default_factory=list)
    is_merge: bool = False

    @classmethod
    def from_message(
        cls,
        sha: str,
        message: str,
        *,
        author: str,
        authored_at: str,
        url: str | None = None,
        is_merge: bool = False,
    ) -> Commit:
        """Build a commit, deriving the summary and issue keys from the message."""
        message = message.rstrip("\n")
        summary = message.lstrip("\n").split("\n", 1)[0].strip() if message else ""
        return cls(sha, summary, message, author, authored_at, url, issue_keys(message), is_merge)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Commit:
        return cls(
            sha=str(data.get("sha", "")),
            summary=str(data.get("summary", "")),
            message=str(data.get("message", "")),
            author=str(data.get("author", "")),
            authored_at=str(data.get("authored_at", "")),
            url=data.get("url"),
            issue_keys=list(data.get("issue_keys") or []),
            is_merge=bool(data.get("is_merge")),
        )


@dataclass
class Changes:
    """What went out between the previous release and this revision."""

    status: Status
    previous_revision: str | None
    revision: str
    #: Commits in ``revision`` that are not in ``previous_revision``, newest first.
    commits: list[Commit]
    ahead_by: int = 0
    #: Commits of the previous release that ``revision`` does not contain (a rollback).
    behind_by: int = 0
    compare_url: str | None = None
    #: Only the newest commits are listed (``first``: no previous release to compare with).
    truncated: bool = False

    @property
    def total(self) -> int:
        return len(self.commits)
