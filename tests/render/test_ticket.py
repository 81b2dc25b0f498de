"""The CCB ticket text: JIRA wiki markup where commit text can never become markup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploytrail.errors import ConfigError
from deploytrail.record import ReleaseRecord
from deploytrail.render.ticket import MAX_DESCRIPTION, escape_wiki, render_ticket, ticket_summary

HOSTILE = [
    "{{ 7*7 }} {{ config }} {% for x in range(9) %}loop{% endfor %}",
    "{code}print(1){code} {html}<script>alert(1)</script>{html} {noformat}x{noformat}",
    "[click|javascript:alert(1)] [~admin] *bold* _it_ -strike- +u+ ^sup^ ~sub~ ??cite?? !img.png!",
    "||a||b|| |c| # item\\\\newline \\",
    "##teamcity[buildStatus text='owned'] <b>html</b> &lt;",
    "line one\nh1. heading\n----\nbq. quote\r\n* list",
    "",
    "x" * 100_000,
    "caf\ufffd \u202eevil\u200b",
]
# Wiki markup characters that must never appear unescaped in commit text.
_UNESCAPED = re.compile(r"(?<!\\)[{}\[\]|*_\-+^~?!#]")


def _record(commits: list[dict[str, object]], **values: object) -> ReleaseRecord:
    base: dict[str, object] = {
        "service": "api", "environment": "production", "version": "1.4.2",
        "revision": "a" * 40, "previous_revision": "b" * 40, "build_number": "311",
        "build_url": "https://tc.example.com/viewLog.html?buildId=9021",
        "compare_url": "https://github.com/o/r/compare/bbb...aaa", "triggered_by": "alice",
        "changelog_status": "ahead", "commits": commits,
    }
    base.update(values)
    return ReleaseRecord(**base)  # type: ignore[arg-type]


def _commit(n: int, summary: str = "", **values: object) -> dict[str, object]:
    commit: dict[str, object] = {
        "sha": f"{n:040x}", "summary": summary or f"change {n}", "message": summary,
        "author": "Bob Builder", "authored_at": "2026-01-01T00:00:00Z",
        "url": f"https://github.com/o/r/commit/{n:040x}", "issue_keys": [f"PAY-{n}"],
        "is_merge": False,
    }
    commit.update(values)
    return commit


def test_the_summary_names_service_version_environment_and_commit_count() -> None:
    record = _record([_commit(i) for i in range(1, 13)])
    assert ticket_summary(record) == "Release api 1.4.2 to production (12 commits)"
    assert ticket_summary(_record([_commit(1)])) == "Release api 1.4.2 to production (1 commit)"


def test_the_summary_is_one_line_of_at_most_255_characters() -> None:
    summary = ticket_summary(_record([], version="1\n2" + "v" * 400))
    assert "\n" not in summary and len(summary) <= 255


def test_the_default_description_lists_each_commit_with_link_author_and_keys() -> None:
    record = _record([_commit(1, "Add refunds"), _commit(2, "Merge branch", is_merge=True)])
    text = render_ticket(record, "deploytrail-x").description
    assert f"* [0000000000|https://github.com/o/r/commit/{1:040x}] Add refunds — Bob Builder " \
           "(PAY-1)" in text
    assert "(PAY-2) _(merge)_" in text
    assert "[\\#311|https://tc.example.com/viewLog.html?buildId=9021]" in text
    assert "||Triggered by|alice|" in text
    assert "[compare bbbbbbbbbb...aaaaaaaaaa|https://github.com/o/r/compare/bbb...aaa]" in text


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_commit_text_is_escaped_and_never_evaluated(text: str) -> None:
    record = _record([_commit(1, text, author=text, issue_keys=["PAY-1", "}{bad"])])
    description = render_ticket(record, "deploytrail-x").description
    line = next(li for li in description.splitlines() if li.startswith("* ["))
    shown = line.split("] ", 1)[1]  # after the commit link we made
    text_only = shown.replace("(PAY-1)", "").replace("&#92;", "")  # entity for a backslash
    assert not _UNESCAPED.search(text_only)
    assert "49" not in shown and "looploop" not in shown
    assert "\\\\" not in shown  # a doubled backslash would be a line break
    assert len(line) < 600


def test_escape_wiki_keeps_text_readable() -> None:
    assert escape_wiki("fix *all* the {things}") == "fix \\*all\\* the \\{things\\}"
    assert escape_wiki("a\\b") == "a&#92;b"
    assert escape_wiki("two\nlines") == "two lines"


def test_only_http_links_are_made() -> None:
    record = _record([_commit(1, url="javascript:alert(1)")], build_url="file:///etc/passwd")
    text = render_ticket(record, "deploytrail-x").description
    assert "javascript" not in text and "file:" not in text


def test_thousands_of_commits_are_cut_to_fit_jira_and_counted() -> None:
    record = _record([_commit(i, "y" * 300) for i in range(1, 3001)])
    ticket = render_ticket(record, "deploytrail-x")
    assert len(ticket.description) <= MAX_DESCRIPTION
    assert 0 < ticket.shown_commits < 3000
    omitted = 3000 - ticket.shown_commits
    assert f"... and {omitted} more commits" in ticket.description
    assert "Commits (3000)" in ticket.description


def test_a_rollback_is_pointed_out() -> None:
    text = render_ticket(_record([], changelog_status="behind"), "deploytrail-x").description
    assert "ROLLBACK" in text


@pytest.mark.parametrize(
    ("status", "commits", "behind", "summary", "said"),
    [
        ("behind", 0, 3, "ROLLBACK api 1.4.2 to production (3 commits taken back)",
         "3 commits of the previous release are taken back"),
        ("diverged", 2, 1, "Release api 1.4.2 to production (2 commits, DIVERGED from the "
         "previous release: 1 of its commits not included)", "has diverged from the previous"),
        ("identical", 0, 0, "Release api 1.4.2 to production (no new commits, same revision as "
         "the previous release)", "the same revision as the previous release"),
    ],
)
def test_a_rollback_or_divergence_is_said_in_the_summary_and_the_description(
    status: str, commits: int, behind: int, summary: str, said: str
) -> None:
    record = _record([_commit(i) for i in range(1, commits + 1)], changelog_status=status,
                     notes={"changelog": {"ahead_by": commits, "behind_by": behind}})
    ticket = render_ticket(record, "deploytrail-x")
    assert ticket.summary == summary
    assert said in ticket.description


def test_a_custom_template_gets_the_same_escaping(tmp_path: Path) -> None:
    template = tmp_path / "t.j2"
    template.write_text("{{ summary }} by {{ triggered_by }} {{ link('build', build_url) }}\n"
                        "{% for c in commits %}{{ c.summary }}{% endfor %}")
    record = _record([_commit(1, "{code}x{code}")], triggered_by="*eve*")
    text = render_ticket(record, "deploytrail-x", str(template)).description
    assert text.startswith("Release api 1.4.2 to production (1 commit) by \\*eve\\* "
                           "[build|https://tc.example.com/viewLog.html?buildId=9021]")
    assert text.endswith("\\{code\\}x\\{code\\}")


def test_a_value_at_a_line_start_cannot_make_a_heading_or_a_quote(tmp_path: Path) -> None:
    template = tmp_path / "t.j2"
    template.write_text("{% for c in commits %}{{ c.summary }}\n{% endfor %}")
    record = _record([_commit(1, "h1. Owned"), _commit(2, "bq. quoted"), _commit(3, "H6.x")])
    lines = render_ticket(record, "deploytrail-x", str(template)).description.splitlines()
    assert lines == ["h1&#46; Owned", "bq&#46; quoted", "H6&#46;x"]
    assert escape_wiki("see h1. in the middle") == "see h1. in the middle"


def test_a_custom_template_cannot_reach_python_internals(tmp_path: Path) -> None:
    template = tmp_path / "t.j2"
    template.write_text("{{ commits.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ConfigError, match=r"t\.j2"):
        render_ticket(_record([_commit(1)]), "deploytrail-x", str(template))


@pytest.mark.parametrize(
    ("source", "problem"),
    [("{% for x in %}", "line 1"), ("{{ no_such_variable }}", "no_such_variable")],
)
def test_a_broken_template_is_a_config_error_naming_it(
    tmp_path: Path, source: str, problem: str
) -> None:
    template = tmp_path / "broken.j2"
    template.write_text(source)
    with pytest.raises(ConfigError, match=problem) as caught:
        render_ticket(_record([]), "deploytrail-x", str(template))
    assert "broken.j2" in str(caught.value) and "docs/audit.md" in str(caught.value)


def test_a_missing_template_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the ticket template"):
        render_ticket(_record([]), "deploytrail-x", str(tmp_path / "nope.j2"))
