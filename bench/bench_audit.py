"""Audit: ledger write cost beside plain SQLite, and HTTP requests per CCB ticket."""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path

from common import ROOT, Result, time_call

sys.path.insert(0, str(ROOT / "tests"))

COMMITS = 50


def _record(n: int) -> object:
    from deploytrail.record import ReleaseRecord

    return ReleaseRecord(
        deployment_id=str(uuid.uuid4()), service="api", environment="production",
        version=f"1.{n}", revision="a" * 40, outcome="success",
        commits=[{"sha": f"{i:040x}", "summary": f"change {i}", "message": f"change {i}",
                  "author": "Bob", "url": "https://github.com/o/r/commit/x",
                  "issue_keys": ["PAY-1"]} for i in range(COMMITS)],
    )


def _ledger_write(folder: Path) -> Result:
    from deploytrail.clients.ledger import Ledger

    ledger = Ledger(folder / "ledger.sqlite3")
    records = [_record(n) for n in range(20)]
    ledger.record_deployment(records[0])  # schema made outside the timing

    def ours() -> None:
        for record in records:
            ledger.record_deployment(record)  # type: ignore[arg-type]

    plain = sqlite3.connect(folder / "plain.sqlite3", isolation_level=None)
    plain.execute("PRAGMA journal_mode = WAL")
    plain.execute("CREATE TABLE d (id TEXT PRIMARY KEY, service TEXT, version TEXT)")
    plain.execute("CREATE TABLE c (id TEXT, pos INT, sha TEXT, summary TEXT, message TEXT, "
                  "author TEXT, url TEXT, keys TEXT, PRIMARY KEY (id, pos))")
    plain.close()  # like the ledger: no connection stays open between writes

    def baseline() -> None:
        for record in records:
            r = record  # a fresh connection per write, as separate processes do
            db = sqlite3.connect(folder / "plain.sqlite3", isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT OR REPLACE INTO d VALUES (?, ?, ?)",
                       (r.deployment_id, r.service, r.version))  # type: ignore[attr-defined]
            db.executemany("INSERT OR REPLACE INTO c VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           [(r.deployment_id, i, c["sha"], c["summary"], c["message"],  # type: ignore[attr-defined]
                             c["author"], c["url"], "[]") for i, c in enumerate(r.commits)])  # type: ignore[attr-defined]
            db.execute("COMMIT")
            db.close()

    value = time_call(ours) / len(records) * 1000
    base = time_call(baseline) / len(records) * 1000
    return Result("ledger: record one deployment (50 commits)", value, base, "ms",
                  "baseline: the same rows with bare sqlite3, a connection per write")


def _ccb_requests() -> Result:
    from deploytrail.steps.ccb import file_ticket
    from deploytrail.teamcity import PlainReporter
    from fakes.jira import FakeJira

    record = _record(1)
    record.build_url = "https://tc.example.com/viewLog.html?buildId=1"  # type: ignore[attr-defined]
    record.compare_url = "https://github.com/o/r/compare/a...b"  # type: ignore[attr-defined]
    os.environ["DEPLOYTRAIL_JIRA_TOKEN"] = "bench-token-123"
    with FakeJira(token="bench-token-123") as jira, open(os.devnull, "w") as sink:
        file_ticket(record, f"jira+{jira.url}/CHG",  # type: ignore[arg-type]
                    reporter=PlainReporter(err=sink, out=sink))
        used = len(jira.requests)
    # search for the label, create, one remote link each for the build and the comparison
    return Result("ccb: HTTP requests to file one JIRA ticket", used, 4, "req",
                  "minimum: search + create + 2 remote links; ours adds serverInfo (Cloud or "
                  "Server?) and the field list the library loads before a search")


def benchmarks() -> list[Result]:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DEPLOYTRAIL_HOME"] = folder
        return [_ledger_write(Path(folder)), _ccb_requests()]
