"""`deploytrail notify` and send_notification against a local chat service."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from deploytrail import record as records
from deploytrail.cli import main
from deploytrail.record import ReleaseRecord
from deploytrail.steps.notify import send_notification
from deploytrail.teamcity import PlainReporter
from fakes.chat import FakeChat
from fakes.net import free_port

TOKEN = "xoxWebhookT0kenDoNotLeak42"


def _commit(i: int, summary: str) -> dict[str, Any]:
    sha = f"{i + 1:07x}" + "0" * 33
    return {"sha": sha, "summary": summary, "message": summary, "author": "Bob", "url": None}


def _record(**changes: Any) -> ReleaseRecord:
    data: dict[str, Any] = dict(
        service="api", environment="production", version="1.4.2", build_number="311",
        build_url="https://tc.example.com/viewLog.html?buildId=9021", triggered_by="alice",
        ticket_key="CCB-123", ticket_url="https://jira.example.com/browse/CCB-123",
        started_at="2026-11-26T23:28:37.000Z", finished_at="2026-11-26T23:30:05.000Z",
        outcome="success", commits=[_commit(i, f"Change {i}") for i in range(7)],
    )
    data.update(changes)
    return ReleaseRecord(**data)


@pytest.fixture
def saved() -> ReleaseRecord:
    rec = _record()
    records.save(rec)
    return rec


def test_finish_message_reaches_json_and_webhook_targets_exactly(
    chat: FakeChat, saved: ReleaseRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["notify", "--chat", chat.json_url(), "--chat", chat.webhook_url(TOKEN)])
    assert code == 0
    posts = {p.door: p for p in chat.posts()}
    assert set(posts) == {"json:deploys", f"webhook:{TOKEN}"}
    as_json = posts["json:deploys"]
    assert as_json.title == "✅ api 1.4.2 is live in production"
    assert as_json.type == "success"
    assert as_json.body.splitlines()[0] == (
        "**api 1.4.2** is live in **production** (deployed in 1 min 28 s).")
    assert "- 0000001 Change 0 (Bob)" in as_json.body
    assert "- … and 2 more" in as_json.body
    assert "[CCB-123](<https://jira.example.com/browse/CCB-123>)" in as_json.body
    hook = posts[f"webhook:{TOKEN}"]  # Mattermost: plain text, title on the first line
    assert hook.title == "✅ api 1.4.2 is live in production"
    assert "  • 0000001 Change 0 (Bob)" in hook.body
    assert "Ticket: CCB-123 (https://jira.example.com/browse/CCB-123)" in hook.body
    assert "Triggered by: alice" in hook.body
    err = capsys.readouterr().err
    assert "sent to json://127.0.0.1" in err and TOKEN not in err


def test_default_target_is_the_console(saved: ReleaseRecord,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("✅ api 1.4.2 is live in production\n")
    assert "7 commits:" in out


def test_start_phase_sends_the_short_informational_message(
    chat: FakeChat, capsys: pytest.CaptureFixture[str]
) -> None:
    records.save(_record(outcome=None, finished_at=None))
    assert main(["notify", "--phase", "start", "--chat", chat.json_url()]) == 0
    post = chat.only_post()
    assert post.title == "🚀 Deploying api 1.4.2 to production"
    assert post.type == "info"
    assert "Change 0" not in post.body


def test_a_failed_deploy_is_announced_as_a_failure(chat: FakeChat) -> None:
    records.save(_record(outcome="failure", outcome_reason="deploy command exited with 3"))
    assert main(["notify", "--chat", chat.json_url()]) == 0
    post = chat.only_post()
    assert post.type == "failure"
    assert post.title == "🚨 FAILED: api 1.4.2 did not deploy to production"
    assert "deploy command exited with 3" in post.body


def test_a_500_from_chat_is_a_warning_with_the_reason_and_exit_0(
    chat: FakeChat, saved: ReleaseRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    chat.refuse("json:deploys", 500, "database on fire")
    assert main(["notify", "--chat", chat.json_url()]) == 0
    err = capsys.readouterr().err
    assert "warning: chat: the finish message could not be sent" in err
    assert "error=500" in err and "json://127.0.0.1" in err
    assert "not affected" in err
    notes = records.load().notes["notify"]["finish"]
    assert notes["sent"] == [] and list(notes["failed"]) == [chat.json_url().split("?")[0]]


def test_a_partly_failed_fan_out_names_only_the_failed_target(
    chat: FakeChat, saved: ReleaseRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    chat.refuse("json:broken", 502)
    code = main(["notify", "--chat", chat.json_url("good"), "--chat", chat.json_url("broken"),
                 "--chat", chat.webhook_url(TOKEN)])
    assert code == 0
    assert sorted(p.door for p in chat.posts()) == ["json:good", f"webhook:{TOKEN}"]
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warning) == 1
    assert "did not reach 1 of 3 targets" in warning[0]
    assert "/json/broken" in warning[0] and "/json/good" not in warning[0]


def test_a_chat_service_that_is_down_is_a_warning(
    saved: ReleaseRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify", "--chat", f"json://127.0.0.1:{free_port()}/x"]) == 0
    assert "connection error" in capsys.readouterr().err.lower()


def test_a_malformed_chat_url_is_a_clear_input_error_and_nothing_is_sent(
    chat: FakeChat, saved: ReleaseRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["notify", "--chat", chat.json_url(), "--chat",
                 "slack://TQWERTYUIOP/BSECRETPART1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "not a valid slack:// URL" in err and "slack://***/***" in err
    assert "SECRETPART1" not in err
    assert chat.posts() == []


def test_hostile_commit_messages_arrive_escaped(chat: FakeChat) -> None:
    hostile = ["@channel deploy <!here> now", "[click](javascript:alert(1))",
               "{{ 6*7 }} {% if 1 %}x{% endif %}", "##teamcity[buildStatus text='x']",
               "<img src=x onerror=alert(1)>", "z" * 100_000]
    records.save(_record(commits=[_commit(i, s) for i, s in enumerate(hostile)]))
    assert main(["notify", "--chat", chat.json_url(), "--chat",
                 chat.json_url("plain", format="text"), "--chat", chat.webhook_url(TOKEN)]) == 0
    posts = chat.posts()
    assert len(posts) == 3
    for post in posts:
        for bad in ("@channel", "<!here>", "](javascript", "42", "##teamcity[", "<img"):
            assert bad not in post.body, (post.door, bad)
        assert "{{ 6" in post.body
        assert len(post.body) < 3000
    markdown = next(p for p in posts if p.door == "json:deploys")
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in markdown.body


def test_the_webhook_token_is_never_printed_or_recorded(
    chat: FakeChat, saved: ReleaseRecord, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat.refuse(f"webhook:{TOKEN}", 401, f"invalid token {TOKEN}")
    monkeypatch.setenv("DEPLOYTRAIL_CHAT", f"{chat.webhook_url(TOKEN)} console")
    assert main(["notify"]) == 0
    monkeypatch.setenv("TEAMCITY_VERSION", "2025.03")
    assert main(["notify"]) == 0
    captured = capsys.readouterr()
    written = records.record_path().read_text(encoding="utf-8")
    for text in (captured.out, captured.err, written):
        assert TOKEN not in text
        assert TOKEN[:12] not in text
    assert "mmost://127.0.0.1" in captured.err


def test_under_teamcity_warnings_are_service_messages_and_the_step_runs_always(
    chat: FakeChat, saved: ReleaseRecord, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deploytrail.render.metarunner import render
    from deploytrail.steps import STEPS

    monkeypatch.setenv("TEAMCITY_VERSION", "2025.03")
    chat.refuse("json:deploys", 500)
    assert main(["notify", "--chat", chat.json_url()]) == 0
    out = capsys.readouterr().out
    assert "##teamcity[message" in out and "status='WARNING'" in out
    assert STEPS["notify"].mode == "execute_always"
    assert 'name="teamcity.step.mode" value="execute_always"' in render(STEPS["notify"])


def test_a_custom_template_file_is_used(chat: FakeChat, saved: ReleaseRecord,
                                        tmp_path: Path) -> None:
    template = tmp_path / "msg.j2"
    template.write_text("{{ release }} → {{ environment }}\n{{ commit_count }} commits by "
                        "{{ commits | map(attribute='author') | unique | join(', ') }}",
                        encoding="utf-8")
    assert main(["notify", "--chat", chat.json_url(), "--template", str(template)]) == 0
    post = chat.only_post()
    assert post.title == "api 1.4.2 → production"
    assert post.body == "7 commits by Bob"


def test_a_broken_template_file_is_exit_2_before_sending(
    chat: FakeChat, saved: ReleaseRecord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "bad.j2"
    template.write_text("{% for %}", encoding="utf-8")
    assert main(["notify", "--chat", chat.json_url(), "--template", str(template)]) == 2
    assert "bad.j2, line 1" in capsys.readouterr().err
    assert chat.posts() == []


def test_a_record_without_a_service_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    records.save(ReleaseRecord())
    assert main(["notify"]) == 2
    assert "no service or environment" in capsys.readouterr().err


def test_service_and_env_options_fill_a_record_that_has_none(
    chat: FakeChat, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify", "--service", "web", "--env", "staging", "--chat",
                 chat.json_url()]) == 0
    assert "web" in chat.only_post().title and "staging" in chat.only_post().title


def test_send_notification_never_raises_and_warns_for_every_chat_problem(
    chat: FakeChat, tmp_path: Path
) -> None:
    err, out = io.StringIO(), io.StringIO()
    reporter = PlainReporter(err=err, out=out)
    template = tmp_path / "bad.j2"
    template.write_text("{{ no_such_variable }}", encoding="utf-8")
    rec = _record()
    send_notification(rec, ["nosuchservice://x/y", chat.json_url(), "console",
                             f"json://127.0.0.1:{free_port()}/down"],
                      "finish", reporter=reporter, template=template)
    warnings = err.getvalue()
    assert "no service called 'nosuchservice'; skipped that target" in warnings
    assert "no_such_variable" in warnings and "standard message instead" in warnings
    assert "did not reach 1 of 3 targets" in warnings and "/down" in warnings
    assert chat.only_post().title == "✅ api 1.4.2 is live in production"
    assert out.getvalue().startswith("✅ api 1.4.2 is live in production")
    assert rec.notes["notify"]["finish"]["sent"][0].startswith("json://127.0.0.1")


def test_send_notification_with_no_usable_target_only_warns() -> None:
    err = io.StringIO()
    send_notification(_record(), ["slack://x"], "start", reporter=PlainReporter(err=err))
    assert "no usable chat target" in err.getvalue()
    send_notification(_record(), [], "start", reporter=PlainReporter(err=err))
