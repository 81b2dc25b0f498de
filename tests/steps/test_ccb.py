"""deploytrail ccb / ccb comment: the release's change ticket, filed exactly once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytrail import record as records
from deploytrail.cli import main
from deploytrail.clients.ledger import Ledger
from deploytrail.record import ReleaseRecord
from deploytrail.steps.ccb import comment_outcome, deployment_label, file_ticket
from deploytrail.teamcity import PlainReporter
from fakes.jira import FakeJira

TOKEN = "pat-secret-token-123"
HOSTILE = "{{ 7*7 }} {% raw %} {code}x{code} [a|http://evil] *b* ##teamcity[buildStop] <script>"


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJira]:
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_TOKEN", TOKEN)
    with FakeJira(token=TOKEN) as fake:
        yield fake


def _save_record(**values: object) -> ReleaseRecord:
    base: dict[str, object] = {
        "service": "api", "environment": "production", "version": "1.4.2",
        "revision": "a" * 40, "previous_revision": "b" * 40, "build_number": "311",
        "build_url": "https://tc.example.com/viewLog.html?buildId=9021",
        "compare_url": "https://github.com/o/r/compare/bbb...aaa", "triggered_by": "alice",
        "changelog_status": "ahead",
        "commits": [
            {"sha": f"{n:040x}", "summary": s, "message": s, "author": "Bob",
             "authored_at": "2026-01-01T00:00:00Z", "url": f"https://github.com/o/r/commit/{n}",
             "issue_keys": [f"PAY-{n}"], "is_merge": False}
            for n, s in enumerate(["Add refunds", HOSTILE, "", "x" * 100_000], start=1)
        ],
    }
    base.update(values)
    record = ReleaseRecord(**base)  # type: ignore[arg-type]
    records.save(record)
    return record


def _target(fake: FakeJira) -> str:
    return f"jira+{fake.url}/CHG"


def test_ccb_files_one_jira_ticket_with_summary_labels_links_and_parameters(
    jira: FakeJira, capsys: pytest.CaptureFixture[str]
) -> None:
    record = _save_record()
    code = main(["ccb", "--tickets", _target(jira), "--issue-type", "Change",
                 "--label", "release", "--component", "api",
                 "--field", "customfield_10010=CAB-7",
                 "--field", 'customfield_10020={"value": "High"}'])
    assert code == 0
    (fields,) = jira.created()
    assert fields["summary"] == "Release api 1.4.2 to production (4 commits)"
    assert fields["issuetype"] == {"name": "Change"}
    assert fields["project"] == {"key": "CHG"}
    assert sorted(fields["labels"]) == sorted(
        ["deploytrail", "release", deployment_label(record.deployment_id)])
    assert fields["components"] == [{"name": "api"}]
    assert fields["customfield_10010"] == "CAB-7"
    assert fields["customfield_10020"] == {"value": "High"}
    assert "\\{code\\}x\\{code\\}" in fields["description"]
    assert [link["object"]["url"] for link in jira.links["CHG-1"]] == [
        "https://tc.example.com/viewLog.html?buildId=9021",
        "https://github.com/o/r/compare/bbb...aaa"]
    saved = records.load()
    assert saved.ticket_key == "CHG-1"
    assert saved.ticket_url == f"{jira.url}/browse/CHG-1"
    captured = capsys.readouterr()
    assert f"CCB filed CHG-1: {jira.url}/browse/CHG-1" in captured.out
    assert "deploytrail.ccb.key = CHG-1" in captured.err


def test_rerunning_ccb_finds_the_ticket_instead_of_filing_another(
    jira: FakeJira, capsys: pytest.CaptureFixture[str]
) -> None:
    _save_record()
    assert main(["ccb", "--tickets", _target(jira)]) == 0
    record = records.load()
    record.ticket_key = None  # even a record that lost the key finds it again
    records.save(record)
    assert main(["ccb", "--tickets", _target(jira)]) == 0
    assert len(jira.issues) == 1
    assert len(jira.links["CHG-1"]) == 2
    assert "CCB already filed as CHG-1" in capsys.readouterr().out
    assert records.load().ticket_key == "CHG-1"


def test_a_dropped_response_after_create_still_gives_one_ticket(jira: FakeJira) -> None:
    _save_record()
    jira.drop_create_responses(1)
    assert main(["ccb", "--tickets", _target(jira)]) == 0
    assert len(jira.issues) == 1
    assert records.load().ticket_key == "CHG-1"


def test_under_teamcity_the_key_becomes_a_parameter_and_the_status(
    jira: FakeJira, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAMCITY_VERSION", "2025.07")
    _save_record()
    assert main(["ccb", "--tickets", _target(jira)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"##teamcity\[setParameter[^]]* name='deploytrail.ccb.key' value='CHG-1'\]",
                     out)
    assert re.search(r"##teamcity\[buildStatus[^]]* text='{build.status.text}; CCB CHG-1'\]", out)
    # the hostile commit's ##teamcity[ never reaches the log unescaped
    assert "##teamcity[buildStop" not in out


def test_the_token_never_appears_in_output_or_errors(
    jira: FakeJira, capsys: pytest.CaptureFixture[str]
) -> None:
    _save_record()
    jira.fail_next(1, 400, body=f"bad request, token was {TOKEN}")
    assert main(["ccb", "--tickets", _target(jira)]) == 3
    captured = capsys.readouterr()
    assert "HTTP 400" in captured.err and "token was ***" in captured.err
    assert TOKEN not in captured.out + captured.err
    assert TOKEN not in Path(os.environ["DEPLOYTRAIL_RECORD"]).read_text()


def test_the_token_is_kept_out_of_a_subprocess_run_too(jira: FakeJira, tmp_path: Path) -> None:
    _save_record()
    env = {**os.environ, "DEPLOYTRAIL_JIRA_TOKEN": "wrong-secret-token-999"}
    done = subprocess.run([sys.executable, "-m", "deploytrail", "ccb", "--tickets",
                           _target(jira)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert "401" in done.stderr and "DEPLOYTRAIL_JIRA_TOKEN" in done.stderr
    assert "wrong-secret-token-999" not in done.stdout + done.stderr


def test_a_bad_tickets_url_or_field_is_an_input_error_listing_every_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["ccb", "--tickets", "jira+https://jira.example.com/", "--field", "oops",
                 "--field", "labels=x", "--label", "has space"])
    assert code == 2
    err = capsys.readouterr().err
    assert "project key" in err and "'oops' is not NAME=VALUE" in err
    assert "labels is set by deploytrail" in err and "cannot be a JIRA label" in err


@pytest.mark.parametrize("delays", ["-1", "1,nan", "inf", "1,x", "100000"])
def test_retry_delays_that_could_fail_or_never_end_are_refused(
    jira: FakeJira, delays: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _save_record()
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_RETRY_DELAYS", delays)
    assert main(["ccb", "--tickets", _target(jira)]) == 2
    assert "DEPLOYTRAIL_JIRA_RETRY_DELAYS" in capsys.readouterr().err
    assert jira.received() == []


def test_a_record_without_service_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    records.save(ReleaseRecord())
    assert main(["ccb"]) == 2
    assert "deploytrail changelog" in capsys.readouterr().err


def test_ledger_tickets_are_filed_once_per_deployment(capsys: pytest.CaptureFixture[str]) -> None:
    record = _save_record()
    assert main(["ccb", "--tickets", "ledger"]) == 0
    assert main(["ccb"]) == 0  # ledger is the default
    assert records.load().ticket_key == "LEDGER-1"
    entry = Ledger().entry(record.deployment_id, with_commits=True)
    assert entry is not None and entry.ticket_key == "LEDGER-1" and len(entry.commits) == 4
    assert len(Ledger().history()) == 1


def test_ccb_fills_missing_identity_from_options(capsys: pytest.CaptureFixture[str]) -> None:
    records.save(ReleaseRecord())
    assert main(["ccb", "--service", "web", "--env", "staging", "--version", "2.0"]) == 0
    saved = records.load()
    assert (saved.service, saved.environment, saved.ticket_key) == ("web", "staging", "LEDGER-1")


def test_the_outcome_comment_is_added_once(jira: FakeJira) -> None:
    _save_record()
    assert main(["ccb", "--tickets", _target(jira)]) == 0
    for _ in range(2):
        assert main(["ccb", "comment", "--tickets", _target(jira), "--outcome", "success"]) == 0
    (comment,) = jira.comments["CHG-1"]
    assert "*succeeded*" in comment["body"]
    (entry,) = Ledger().history()  # the local ledger follows, for history and --previous ledger
    assert (entry.ticket_key, entry.outcome) == ("CHG-1", "success")
    assert "[\\#311|https://tc.example.com/viewLog.html?buildId=9021]" in comment["body"]
    assert records.load().outcome == "success"


def test_the_outcome_comment_finds_the_ticket_by_label_when_the_record_lost_it(
    jira: FakeJira,
) -> None:
    record = _save_record()
    reporter = PlainReporter()
    file_ticket(record, _target(jira), reporter=reporter)
    record.ticket_key = None
    record.outcome, record.outcome_reason = "failure", "deploy.sh exited with 1 {code}"
    comment_outcome(record, _target(jira), reporter=reporter)
    (comment,) = jira.comments["CHG-1"]
    assert "*failed*" in comment["body"] and "\\{code\\}" in comment["body"]


def test_commenting_without_an_outcome_is_an_input_error(
    jira: FakeJira, capsys: pytest.CaptureFixture[str]
) -> None:
    _save_record()
    assert main(["ccb", "comment", "--tickets", _target(jira)]) == 2
    assert "no outcome" in capsys.readouterr().err


def test_the_ledger_outcome_is_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    record = _save_record()
    assert main(["ccb"]) == 0
    assert main(["ccb", "comment", "--outcome", "failure"]) == 0
    entry = Ledger().entry(record.deployment_id)
    assert entry is not None and entry.outcome == "failure"


def test_cloud_ccb_uses_email_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_TOKEN", TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_EMAIL", "robot@example.com")
    with FakeJira(cloud=True, token=TOKEN, email="robot@example.com") as cloud:
        _save_record()
        assert main(["ccb", "--tickets", _target(cloud)]) == 0
        assert main(["ccb", "--tickets", _target(cloud)]) == 0
        assert len(cloud.issues) == 1
        assert cloud.received(path_re=r"/search/jql$")


def test_help_imports_no_heavy_library() -> None:
    code = ("import sys; from deploytrail.cli import main; main(['ccb', '--help']); "
            "print(json.dumps(sorted(m for m in ('jira', 'jinja2', 'requests', 'sqlite3') "
            "if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", "import json; " + code],
                          capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout.splitlines()[-1]) == []
