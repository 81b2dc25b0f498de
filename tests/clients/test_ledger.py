"""The ledger: a real SQLite file, written by this process and by several at once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deploytrail.clients.ledger import Ledger
from deploytrail.errors import ServiceError
from deploytrail.record import ReleaseRecord


def _record(**values: object) -> ReleaseRecord:
    base: dict[str, object] = {"service": "api", "environment": "production"}
    base.update(values)
    return ReleaseRecord(**base)  # type: ignore[arg-type]


def _commit(n: int) -> dict[str, object]:
    return {
        "sha": f"{n:040x}",
        "summary": f"change {n}",
        "message": f"change {n}\n\nPAY-{n}",
        "author": "Alice",
        "authored_at": "2026-01-01T00:00:00Z",
        "url": f"https://github.example.com/o/r/commit/{n:040x}",
        "issue_keys": [f"PAY-{n}"],
        "is_merge": n == 2,
    }


def test_default_path_is_in_the_state_dir(tmp_path: Path) -> None:
    ledger = Ledger()
    ledger.record_deployment(_record())
    assert ledger.path == tmp_path / "state" / "ledger.sqlite3"
    assert ledger.path.exists()


def test_a_deployment_and_its_commits_are_stored_once_however_often_recorded(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    record = _record(version="1.4.2", revision="a" * 40, commits=[_commit(1), _commit(2)])
    ledger.record_deployment(record)
    ledger.record_deployment(record)
    entries = ledger.history()
    assert [e.deployment_id for e in entries] == [record.deployment_id]
    assert entries[0].commit_count == 2
    full = ledger.entry(record.deployment_id, with_commits=True)
    assert full is not None
    assert [c["summary"] for c in full.commits] == ["change 1", "change 2"]
    assert full.commits[0]["issue_keys"] == ["PAY-1"]
    assert full.commits[1]["is_merge"] is True


def test_a_later_record_adds_the_outcome_without_erasing_what_was_known(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    record = _record(version="1.4.2", commits=[_commit(1)], ticket_key="CHG-1")
    ledger.record_deployment(record)
    later = ReleaseRecord(
        deployment_id=record.deployment_id, outcome="success", finished_at="2026-01-01T01:00:00Z"
    )
    ledger.record_deployment(later)
    entry = ledger.entry(record.deployment_id, with_commits=True)
    assert entry is not None
    assert (entry.version, entry.ticket_key, entry.outcome) == ("1.4.2", "CHG-1", "success")
    assert entry.commit_count == 1 and len(entry.commits) == 1


def test_last_successful_skips_failures_and_other_services(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    good = _record(revision="1" * 40, outcome="success", finished_at="2026-01-01T10:00:00Z")
    newer_failed = _record(revision="2" * 40, outcome="failure", finished_at="2026-01-02T10:00:00Z")
    other_env = _record(
        environment="staging", revision="3" * 40, outcome="success",
        finished_at="2026-01-03T10:00:00Z",
    )
    older = _record(revision="4" * 40, outcome="success", finished_at="2025-12-01T10:00:00Z")
    for record in (good, newer_failed, other_env, older):
        ledger.record_deployment(record)
    found = ledger.last_successful("api", "production")
    assert found is not None
    assert found.revision == "1" * 40
    assert found.deployment_id == good.deployment_id
    assert ledger.last_successful("web", "production") is None


def test_last_successful_on_a_missing_ledger_is_none_and_creates_nothing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "none" / "l.sqlite3")
    assert ledger.last_successful("api", "production") is None
    assert ledger.history() == []
    assert not ledger.path.exists()


def test_history_filters_and_orders_newest_first_with_a_limit(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    for day in range(1, 6):
        ledger.record_deployment(_record(version=f"1.{day}", started_at=f"2026-01-0{day}T00:00Z"))
    ledger.record_deployment(_record(service="web", version="9.9", started_at="2026-01-09T00:00Z"))
    assert [e.version for e in ledger.history(service="api", limit=3)] == ["1.5", "1.4", "1.3"]
    assert [e.version for e in ledger.history(environment="production", limit=1)] == ["9.9"]


def test_a_ledger_ticket_is_filed_once_per_deployment(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    first, second = _record(), _record()
    key = ledger.file_ticket(first)
    assert key == "LEDGER-1"
    assert ledger.file_ticket(first) == "LEDGER-1"
    assert ledger.file_ticket(second) == "LEDGER-2"
    entry = ledger.entry(first.deployment_id)
    assert entry is not None and entry.ticket_key == "LEDGER-1"


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    path.write_text("this is not sqlite" * 100)
    with pytest.raises(ServiceError, match=r"ledger.*l\.sqlite3"):
        Ledger(path).record_deployment(_record())


_WRITER = textwrap.dedent(
    """
    import json, sys
    from deploytrail.clients.ledger import Ledger
    from deploytrail.record import ReleaseRecord
    path, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ledger = Ledger(__import__("pathlib").Path(path))
    keys = {}
    for n in range(count):
        commits = [{"sha": f"{i:040x}", "summary": f"w{worker} c{i}"} for i in range(20)]
        ledger.record_deployment(ReleaseRecord(
            deployment_id=f"{worker}-{n}", service="api", environment="production",
            commits=commits, outcome="success", finished_at=f"2026-01-01T00:00:{n:02d}Z"))
        shared = ReleaseRecord(deployment_id=f"shared-{n % 5}", service="api",
                               environment="production")
        keys[shared.deployment_id] = ledger.file_ticket(shared)
    print(json.dumps(keys))
    """
)


def test_concurrent_writers_in_separate_processes_lose_no_row(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    workers, count = 6, 40
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), f"w{w}", str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), [err for _, err in outputs]
    keys = [json.loads(out) for out, _ in outputs]
    # every process got the same ticket for each shared deployment, and only 5 were made
    assert all(k == keys[0] for k in keys)
    assert len(set(keys[0].values())) == 5

    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    rows = db.execute("SELECT count(*) FROM deployments").fetchone()[0]
    assert rows == workers * count + 5
    assert db.execute("SELECT count(*) FROM commits").fetchone()[0] == workers * count * 20
    assert db.execute("SELECT count(*) FROM tickets").fetchone()[0] == 5
