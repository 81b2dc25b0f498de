"""The commit model: summary, issue keys."""

from __future__ import annotations

import pytest

from deploytrail.commits import Commit, issue_keys


@pytest.mark.parametrize(
    ("message", "keys"),
    [
        ("PAY-142 fix rounding", ["PAY-142"]),
        ("Merge feature/PAY-142-rounding (OPS-7, PAY-142)", ["PAY-142", "OPS-7"]),
        ("A_B2-10 and X-1", ["A_B2-10"]),
        ("utf-8 and UTF-8, SHA-256, ISO-8601, CVE-2024-1234", []),
        ("lowercase pay-142 and mid-wordPAY-1 and PAY-0", []),
        ("", []),
    ],
)
def test_issue_keys_are_jira_style_keys_found_once_in_order(message: str,
                                                            keys: list[str]) -> None:
    assert issue_keys(message) == keys


def test_summary_is_the_first_line_of_the_message() -> None:
    commit = Commit.from_message("a" * 40, "First line  \nsecond\n\nPAY-3\n", author="A",
                                 authored_at="2026-01-01T00:00:00+00:00")
    assert commit.summary == "First line"
    assert commit.message == "First line  \nsecond\n\nPAY-3"
    assert commit.issue_keys == ["PAY-3"]


def test_a_commit_survives_the_json_round_trip() -> None:
    commit = Commit.from_message("b" * 40, "Merge PAY-1", author="B", authored_at="x",
                                 url="https://example/commit/b", is_merge=True)
    assert Commit.from_json(commit.to_json()) == commit
