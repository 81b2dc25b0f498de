"""Chat message rendering: contents, per-format escaping of commit text, custom templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploytrail.errors import ConfigError
from deploytrail.record import ReleaseRecord
from deploytrail.render.notify import (
    clean,
    escape_markdown,
    escape_text,
    load_template,
    render_message,
)

HOSTILE = [
    "Ping @channel and @here and @everyone",
    "Slack <!here> <!channel> <@U024BE7LH> Teams <at>all</at>",
    "[click me](javascript:alert(document.cookie)) and ![img](https://evil.example/x.png)",
    "{{ 7*7 }} {% raw %}{{ config }}{% endraw %} ${jndi:x}",
    "##teamcity[buildStatus status='SUCCESS' text='faked']",
    "<script>alert(1)</script><b>bold</b> <a href='https://evil.example'>x</a>",
    "line one\nline two\r\n# heading\n> quote\u202eevil\u200b\x1b[31mred\x00",
    "x" * 100_000,
]


def commit(i: int, summary: str, author: str = "Bob") -> dict[str, Any]:
    sha = f"{i + 1:040x}"
    return {"sha": sha, "summary": summary, "message": summary, "author": author,
            "url": f"https://github.com/acme/api/commit/{sha}"}


def record(**changes: Any) -> ReleaseRecord:
    base: dict[str, Any] = dict(
        service="api", environment="production", version="1.4.2", build_number="311",
        build_url="https://tc.example.com/viewLog.html?buildId=9021", triggered_by="alice",
        ticket_key="CCB-123", ticket_url="https://jira.example.com/browse/CCB-123",
        started_at="2026-11-26T23:28:37.000Z", finished_at="2026-11-26T23:30:00.123Z",
        outcome="success", commits=[commit(i, f"Change number {i}") for i in range(3)],
    )
    base.update(changes)
    return ReleaseRecord(**base)


def test_finish_message_names_release_outcome_duration_commits_ticket_build_and_trigger() -> None:
    message = render_message(record(), "finish")
    assert message.title == "✅ api 1.4.2 is live in production"
    assert message.kind == "success"
    for body in (message.markdown, message.text):
        assert "1 min 23 s" in body
        assert "3 commits" in body
        assert "Change number 0" in body and "Change number 2" in body
        assert "CCB-123" in body and "https://jira.example.com/browse/CCB-123" in body
        assert "https://tc.example.com/viewLog.html?buildId=9021" in body
        assert "alice" in body
    assert "[CCB\\-123]" not in message.markdown  # "-" needs no escape
    assert "[CCB-123](<https://jira.example.com/browse/CCB-123>)" in message.markdown


def test_a_failed_release_is_louder() -> None:
    message = render_message(
        record(outcome="failure", outcome_reason="deploy command exited with 2"), "finish")
    assert message.kind == "failure"
    assert message.title.startswith("🚨 FAILED")
    assert "FAILED" in message.markdown and "deploy command exited with 2" in message.markdown
    assert "DEPLOYMENT FAILED" in message.text


def test_an_unknown_outcome_is_a_warning_not_news() -> None:
    message = render_message(record(outcome=None, finished_at=None), "finish")
    assert message.kind == "warning"
    assert "outcome unknown" in message.title


def test_only_the_first_commits_are_listed_then_and_n_more() -> None:
    commits = [commit(i, f"Change {i}") for i in range(12)]
    message = render_message(record(commits=commits), "finish")
    for body in (message.markdown, message.text):
        assert "Change 4" in body and "Change 5" not in body
        assert "… and 7 more" in body
        assert "12 commits" in body


def test_start_message_is_short_and_informational() -> None:
    message = render_message(record(outcome=None, finished_at=None), "start")
    assert message.kind == "info"
    assert message.title == "🚀 Deploying api 1.4.2 to production"
    assert "Change number" not in message.text
    assert len(message.text.splitlines()) <= 6


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_commit_text_is_neutralised_in_both_formats(hostile: str) -> None:
    message = render_message(record(commits=[commit(0, hostile, author=hostile[:40])]), "finish")
    for body in (message.markdown, message.text):
        for bad in ("@channel", "@here", "@everyone", "<!", "<@", "<at>", "<script", "<b>",
                    "<a ", "](javascript", "##teamcity[", "\x1b", "\x00", "\u202e", "49"):
            assert bad not in body, (bad, body)
        assert len(body) < 2000


def _mattermost_mentions(text: str) -> list[str]:
    """The words Mattermost's mention parser would read as mentions (StandardMentionParser:
    split at anything but letters, digits and ":.-_@", trim leading ":.-_")."""
    import re as _re

    words = [w.lstrip(":.-_") for w in _re.split(r"[^\w:.\-@]|_(?=@)", text) if w]
    return [w for w in words if _re.match(r"@\w", w)]


@pytest.mark.parametrize(
    "summary", [".@channel", "-@here", "_@all", "+@channel", ":@here", "x@everyone", "(@here)",
                "fix.@channel now", "a-@all"])
def test_a_mention_behind_punctuation_notifies_nobody_in_either_format(summary: str) -> None:
    message = render_message(record(commits=[commit(0, summary)], triggered_by=summary),
                             "finish")
    for body in (message.markdown, message.text):
        assert _mattermost_mentions(body) == [], body
        assert "@everyone" not in body and "@here" not in body


def test_an_email_address_is_left_as_it_is() -> None:
    assert clean("mail bob@example.com or ops+deploy@corp.io") == (
        "mail bob@example.com or ops+deploy@corp.io")


def test_link_syntax_and_template_code_in_a_commit_arrive_as_literal_text() -> None:
    commits = [commit(0, HOSTILE[2]), commit(1, HOSTILE[3])]
    message = render_message(record(commits=commits), "finish")
    assert "\\[click me\\]\\(javascript:" in message.markdown
    assert "[click me]\u200b(javascript:" in message.text
    assert "{{ 7\\*7 }}" in message.markdown and "{{ 7*7 }}" in message.text


def test_a_multi_line_summary_cannot_start_new_markdown_blocks() -> None:
    message = render_message(record(commits=[commit(0, "a\n# heading\n> quote")]), "finish")
    assert not any(line.startswith(("# ", "> ")) for line in message.markdown.splitlines())


def test_escape_functions_one_by_one() -> None:
    assert clean("a\tb\n c\x07") == "a b c"
    assert clean("hi @channel, mail bob@example.com") == "hi @\u200bchannel, mail bob@example.com"
    assert escape_markdown("*bold* _it_ `code` [a](b) | ~x~ #1") == (
        "\\*bold\\* \\_it\\_ \\`code\\` \\[a\\]\\(b\\) \\| \\~x\\~ \\#1")
    assert escape_text("[a](b)") == "[a]\u200b(b)"
    assert clean("x" * 500).endswith("…") and len(clean("x" * 500)) == 120


def test_a_link_to_a_non_http_url_is_just_its_label() -> None:
    message = render_message(record(ticket_url="javascript:alert(1)"), "finish")
    assert "javascript" not in message.markdown and "javascript" not in message.text
    assert "CCB-123" in message.markdown


def test_a_custom_template_sees_the_documented_variables(tmp_path: Path) -> None:
    path = tmp_path / "custom.j2"
    path.write_text(
        "{{ service }} {{ phase }} {{ outcome }}\n"
        "{{ commit_count }} {{ more_commits }} {{ duration }} {{ duration_seconds }} "
        "{{ triggered_by }} {{ build_number }} {{ markdown }}\n"
        "{% for c in shown_commits %}{{ c.short_sha }}:{{ c.summary }};{% endfor %}\n"
        "{{ link(ticket_key, ticket_url) }}", encoding="utf-8")
    message = render_message(record(), "finish", template=load_template(path))
    assert message.title == "api finish success"
    assert "3 0 1 min 23 s 83.123 alice 311 True" in message.markdown
    assert "3 0 1 min 23 s 83.123 alice 311 False" in message.text
    assert "0000000:Change number 0;" in message.text
    assert "CCB-123 (https://jira.example.com/browse/CCB-123)" in message.text


def test_a_custom_template_still_escapes_commit_text(tmp_path: Path) -> None:
    path = tmp_path / "custom.j2"
    path.write_text("t\n{% for c in commits %}{{ c.summary }}{{ c.summary|e }}{% endfor %}",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="No filter named 'e'"):
        load_template(path)
    path.write_text("t\n{% for c in commits %}{{ c.summary|upper }}{% endfor %}",
                    encoding="utf-8")
    message = render_message(record(commits=[commit(0, "@here [x](javascript:y)")]), "finish",
                             template=load_template(path))
    assert "@HERE" not in message.markdown and "](JAVASCRIPT" not in message.markdown


def test_a_template_cannot_reach_python_internals(tmp_path: Path) -> None:
    path = tmp_path / "evil.j2"
    path.write_text("t\n{{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    with pytest.raises(ConfigError):
        render_message(record(), "finish", template=load_template(path))


def test_a_template_with_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.j2"
    path.write_text("title\nbody\n{% if %}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.j2, line 3"):
        load_template(path)


def test_a_template_using_an_unknown_variable_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "typo.j2"
    path.write_text("{{ servce }}", encoding="utf-8")
    with pytest.raises(ConfigError, match="servce"):
        render_message(record(), "finish", template=load_template(path))


def test_a_missing_template_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read notification template"):
        load_template(tmp_path / "nope.j2")


def test_the_example_template_in_the_docs_renders_as_shown(tmp_path: Path) -> None:
    import re

    docs = Path(__file__).parents[2] / "docs" / "notify.md"
    example = re.search(r"```jinja\n(.*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert example is not None
    path = tmp_path / "example.j2"
    path.write_text(example.group(1), encoding="utf-8")
    commits = [commit(i, f"Change {i}", author="Bob") for i in range(7)]
    message = render_message(record(commits=commits), "finish", template=load_template(path))
    assert message.title == "🎉 api 1.4.2 is out in production"
    lines = message.markdown.splitlines()
    assert lines[0] == "**7 changes** by Bob"
    assert lines[2].endswith(") Change 0") and lines[7] == "- … and 2 more"
    assert lines[-1] == "[CCB-123](<https://jira.example.com/browse/CCB-123>)"
