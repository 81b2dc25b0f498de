"""deploytrail history: what the ledger remembers, as a table or JSON."""

from __future__ import annotations

import json

import pytest

from deploytrail.cli import main
from deploytrail.clients.ledger import Ledger
from deploytrail.record import ReleaseRecord


def _deploy(ledger: Ledger, **values: object) -> ReleaseRecord:
    base: dict[str, object] = {
        "service": "api",
        "environment": "production",
        "revision": "0123456789abcdef" * 2 + "01234567",
        "triggered_by": "alice",
        "outcome": "success",
    }
    base.update(values)
    record = ReleaseRecord(**base)  # type: ignore[arg-type]
    ledger.record_deployment(record)
    return record


def test_history_lists_deployments_newest_first_as_a_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger = Ledger()
    _deploy(ledger, version="1.4.1", started_at="2026-01-01T10:00:00Z",
            commits=[{"sha": "a" * 40}] * 3)
    record = _deploy(ledger, version="1.4.2", started_at="2026-01-02T10:00:00Z",
                     outcome="failure")
    Ledger().file_ticket(record)
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["time", "service", "env", "version", "revision", "outcome",
                                "commits", "ticket", "who"]
    assert lines[1].split() == ["2026-01-02T10:00:00Z", "api", "production", "1.4.2",
                                "0123456789", "failure", "0", "LEDGER-1", "alice"]
    assert lines[2].split() == ["2026-01-01T10:00:00Z", "api", "production", "1.4.1",
                                "0123456789", "success", "3", "-", "alice"]


def test_a_rollback_and_a_divergence_are_said_in_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger = Ledger()
    _deploy(ledger, version="1.4.0", started_at="2026-01-01T10:00:00Z",
            changelog_status="behind")
    _deploy(ledger, version="1.4.3", started_at="2026-01-02T10:00:00Z",
            changelog_status="diverged", commits=[{"sha": "a" * 40}] * 2)
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "2 DIVERGED" in lines[1] and "ROLLBACK" in lines[2]


def test_history_filters_by_service_and_env_and_limits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger = Ledger()
    for day in range(1, 4):
        _deploy(ledger, version=f"1.{day}", started_at=f"2026-01-0{day}T00:00:00Z")
    _deploy(ledger, service="web", version="7.0")
    _deploy(ledger, environment="staging", version="8.0")
    assert main(["history", "--service", "api", "--env", "production", "--limit", "2",
                 "--format", "json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["version"] for e in entries] == ["1.3", "1.2"]
    assert entries[0]["triggered_by"] == "alice"
    assert entries[0]["service"] == "api" and entries[0]["environment"] == "production"


def test_history_on_an_empty_ledger_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history"]) == 0
    assert "no deployments recorded yet" in capsys.readouterr().out


def test_hostile_values_cannot_break_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    _deploy(Ledger(), version="1.0\n##teamcity[buildStop]\x1b[31m", triggered_by="eve\r\nroot")
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "\x1b" not in lines[1] and "eve root" in lines[1]


def test_a_bad_limit_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--limit", "zero"]) == 2
    assert "--limit" in capsys.readouterr().err
