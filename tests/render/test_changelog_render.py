"""The changelog in text, Markdown and JSON: untrusted commit text stays text."""

from __future__ import annotations

import json
import re

from deploytrail.commits import Changes, Commit
from deploytrail.render.changelog import escape_markdown, render

PREV, HEAD = "a" * 40, "b" * 40


def changes(*messages: str, status: str = "ahead", behind: int = 0) -> Changes:
    commits = [Commit.from_message(f"{i:040x}", m, author="Eve <eve@x>",
                                   authored_at="2026-01-02T03:04:05+00:00",
                                   url=f"https://github.com/acme/api/commit/{i:040x}")
               for i, m in enumerate(messages)]
    return Changes(status, PREV, HEAD, commits, ahead_by=len(commits),  # type: ignore[arg-type]
                   behind_by=behind, compare_url="https://github.com/acme/api/compare/a...b")


def test_markdown_escaping_leaves_no_active_character() -> None:
    text = "[a](javascript:x) <b>&amp; `code` *x* _y_ ~z~ # h | t | @here !img"
    escaped = escape_markdown(text)
    unescaped = re.sub(r"\\.", "", escaped)  # drop every backslash-escaped character
    assert not set(unescaped) & set("[]()<>`*_~#|@!\\")
    assert "&amp;amp;" in escaped and "&lt;b" in escaped


def test_a_bare_url_in_commit_text_cannot_become_an_autolink() -> None:
    out = render("markdown", "api", "prod", changes("see https://evil.example/x or www.evil.com"))
    line = out.splitlines()[2]
    assert "https\\://evil.example/x" in line and "www\\.evil.com" in line
    assert "https://evil" not in line and "www.evil" not in line
    assert escape_markdown("at 10:30 see a.b") == "at 10:30 see a.b"


def test_huge_summaries_are_cut_in_text_and_markdown_but_not_in_json() -> None:
    data = changes("x" * 100_000)
    assert len(render("text", "api", "prod", data)) < 1000
    assert len(render("markdown", "api", "prod", data)) < 1000
    assert json.loads(render("json", "api", "prod", data))["commits"][0]["summary"] == (
        "x" * 100_000)


def test_terminal_escape_sequences_never_reach_the_terminal() -> None:
    out = render("text", "api", "prod", changes("\x1b[31mred\x1b]0;title\x07 \u202eevil"))
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out


def test_merges_and_empty_messages_are_shown() -> None:
    data = changes("Merge pull request #1", "")
    data.commits[0].is_merge = True
    out = render("text", "api", "prod", data)
    assert "merge: Merge pull request #1" in out and "(no message)" in out


def test_the_headline_says_a_rollback_and_divergence_plainly() -> None:
    assert "ROLLBACK" in render("text", "api", "prod", changes(status="behind", behind=3))
    diverged = render("markdown", "api", "prod", changes("x", status="diverged", behind=2))
    assert "DIVERGED" in diverged and "2 commit\\(s\\) of the previous release" in diverged


def test_markdown_links_each_commit_and_the_comparison() -> None:
    out = render("markdown", "api", "prod", changes("PAY-1 fix"))
    assert f"- [`{0:012x}`](https://github.com/acme/api/commit/{0:040x}) PAY-1 fix" in out
    assert "(https://github.com/acme/api/compare/a...b)" in out
