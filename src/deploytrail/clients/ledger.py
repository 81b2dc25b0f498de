"""The ledger: deploytrail's embedded audit store, one SQLite file in the state directory.

One row per deployment (upserted on its deployment id) and its commits. ``deploytrail history``
lists it, ``--previous ledger`` asks it for the last successful release of a service, and
``--tickets ledger`` files the change "ticket" in it (``LEDGER-<n>``, once per deployment).

Several deploys may write at once from separate processes: the database runs in WAL mode, every
write is one ``BEGIN IMMEDIATE`` transaction, and a writer waits (busy timeout) for its turn
instead of failing, so no row is lost and the file is never left half-written.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deploytrail.errors import ServiceError
from deploytrail.record import ReleaseRecord

__all__ = ["DEFAULT_NAME", "TICKET_PREFIX", "Ledger", "LedgerEntry"]

DEFAULT_NAME = "ledger.sqlite3"
TICKET_PREFIX = "LEDGER-"
SCHEMA_VERSION = 1
#: How long a writer waits for another process's transaction before giving up (seconds).
BUSY_TIMEOUT = 60.0

_COLUMNS = (
    "service",
    "environment",
    "version",
    "build_number",
    "build_url",
    "triggered_by",
    "revision",
    "previous_revision",
    "changelog_status",
    "compare_url",
    "ticket_key",
    "ticket_url",
    "started_at",
    "finished_at",
    "outcome",
    "outcome_reason",
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS deployments (
    deployment_id TEXT PRIMARY KEY,
    {", ".join(f"{c} TEXT" for c in _COLUMNS)},
    commit_count INTEGER NOT NULL DEFAULT 0,
    recorded_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deployments_service_env
    ON deployments (service, environment, outcome);
CREATE TABLE IF NOT EXISTS commits (
    deployment_id TEXT NOT NULL REFERENCES deployments (deployment_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    sha TEXT NOT NULL,
    summary TEXT,
    message TEXT,
    author TEXT,
    authored_at TEXT,
    url TEXT,
    issue_keys TEXT NOT NULL DEFAULT '[]',
    is_merge INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, position)
);
CREATE TABLE IF NOT EXISTS tickets (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class LedgerEntry:
    """One deployment as the ledger remembers it."""

    deployment_id: str
    service: str | None = None
    environment: str | None = None
    version: str | None = None
    build_number: str | None = None
    build_url: str | None = None
    triggered_by: str | None = None
    revision: str | None = None
    previous_revision: str | None = None
    changelog_status: str | None = None
    compare_url: str | None = None
    ticket_key: str | None = None
    ticket_url: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    outcome: str | None = None
    outcome_reason: str | None = None
    commit_count: int = 0
    recorded_at: str = ""
    updated_at: str = ""
    commits: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Ledger:
    """The SQLite audit store; ``path`` defaults to ``state_dir()/ledger.sqlite3``."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            from deploytrail.paths import state_dir

            path = state_dir() / DEFAULT_NAME
        self.path = Path(path)
        self._ready = False

    # --- writing ----------------------------------------------------------------------------
    def record_deployment(self, record: ReleaseRecord) -> None:
        """Insert or update the deployment's row (and its commits); known values are kept."""
        values = {c: _text(getattr(record, c)) for c in _COLUMNS}
        now = _now()
        updates = ", ".join(f"{c} = COALESCE(excluded.{c}, deployments.{c})" for c in _COLUMNS)
        with self._write() as db:
            db.execute(
                f"INSERT INTO deployments (deployment_id, {', '.join(_COLUMNS)}, commit_count,"
                f" recorded_at, updated_at) VALUES (?, {', '.join('?' for _ in _COLUMNS)}, ?, ?, ?)"
                f" ON CONFLICT (deployment_id) DO UPDATE SET {updates},"
                " commit_count = CASE WHEN excluded.commit_count > 0 THEN excluded.commit_count"
                " ELSE deployments.commit_count END, updated_at = excluded.updated_at",
                (record.deployment_id, *values.values(), len(record.commits), now, now),
            )
            if record.commits:
                db.execute("DELETE FROM commits WHERE deployment_id = ?", (record.deployment_id,))
                db.executemany(
                    "INSERT INTO commits (deployment_id, position, sha, summary, message,"
                    " author, authored_at, url, issue_keys, is_merge)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [_commit_row(record.deployment_id, i, c) for i, c in enumerate(record.commits)],
                )

    def file_ticket(self, record: ReleaseRecord) -> str:
        """The deployment's ledger ticket key (``LEDGER-<n>``), made on the first call only."""
        self.record_deployment(record)
        with self._write() as db:
            # BEGIN IMMEDIATE serialises writers, so look-then-insert cannot race.
            found = db.execute(
                "SELECT number FROM tickets WHERE deployment_id = ?", (record.deployment_id,)
            ).fetchone()
            if found is None:
                number = db.execute(
                    "INSERT INTO tickets (deployment_id, created_at) VALUES (?, ?)",
                    (record.deployment_id, _now()),
                ).lastrowid
            else:
                number = found[0]
            key = f"{TICKET_PREFIX}{number}"
            db.execute(
                "UPDATE deployments SET ticket_key = ? WHERE deployment_id = ?",
                (key, record.deployment_id),
            )
        return key

    # --- reading ----------------------------------------------------------------------------
    def last_successful(self, service: str, environment: str) -> LedgerEntry | None:
        """The newest deployment of ``service`` to ``environment`` whose outcome is success."""
        rows = self._select(
            "WHERE service = ? AND environment = ? AND outcome = 'success'",
            (service, environment),
            order="COALESCE(finished_at, started_at, recorded_at) DESC, updated_at DESC",
            limit=1,
        )
        return rows[0] if rows else None

    def history(
        self, service: str | None = None, environment: str | None = None, limit: int = 50
    ) -> list[LedgerEntry]:
        """Past deployments, newest first, optionally of one service and/or environment."""
        where, params = [], []
        if service:
            where.append("service = ?")
            params.append(service)
        if environment:
            where.append("environment = ?")
            params.append(environment)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        return self._select(
            clause,
            tuple(params),
            order="COALESCE(started_at, finished_at, recorded_at) DESC, recorded_at DESC",
            limit=limit,
        )

    def entry(self, deployment_id: str, *, with_commits: bool = False) -> LedgerEntry | None:
        """One deployment by id (with its commits when asked)."""
        rows = self._select("WHERE deployment_id = ?", (deployment_id,), order="1", limit=1)
        if not rows:
            return None
        if not with_commits:
            return rows[0]
        with self._read() as db:
            found = db.execute(
                "SELECT sha, summary, message, author, authored_at, url, issue_keys, is_merge"
                " FROM commits WHERE deployment_id = ? ORDER BY position",
                (deployment_id,),
            ).fetchall()
        commits = [
            {**dict(row), "issue_keys": json.loads(row["issue_keys"]), "is_merge": bool(row[7])}
            for row in found
        ]
        return LedgerEntry(**{**rows[0].to_json(), "commits": commits})

    # --- plumbing ---------------------------------------------------------------------------
    def _select(
        self, clause: str, params: tuple[str, ...], *, order: str, limit: int
    ) -> list[LedgerEntry]:
        if not self.path.exists():
            return []
        with self._read() as db:
            rows = db.execute(
                f"SELECT * FROM deployments {clause} ORDER BY {order} LIMIT ?",
                (*params, int(limit)),
            ).fetchall()
        return [LedgerEntry(**dict(row)) for row in rows]

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._error("cannot open", exc) from exc
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        if not self._ready:
            self._prepare(db)
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        # Switching to WAL needs a moment alone with the file; a first-time race between
        # processes can see SQLITE_BUSY here without the busy handler, so try a few times.
        for attempt in range(50):
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    db.execute("PRAGMA journal_mode = WAL")
                if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                    db.execute("BEGIN IMMEDIATE")
                    db.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
                break
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 49:
                    raise self._error("cannot prepare", exc) from exc
                time.sleep(0.02 * (attempt + 1))
        self._ready = True

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._error("cannot write to", exc) from exc
        finally:
            db.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            yield db
        except sqlite3.Error as exc:
            raise self._error("cannot read", exc) from exc
        finally:
            db.close()

    def _error(self, doing: str, exc: sqlite3.Error) -> ServiceError:
        return ServiceError(
            "ledger",
            f"{doing} the ledger {self.path}: {exc}",
            hint="check that the file is a deploytrail ledger and the disk is writable; "
            "DEPLOYTRAIL_HOME moves it",
        )


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _commit_row(deployment_id: str, position: int, commit: dict[str, Any]) -> tuple[object, ...]:
    keys = commit.get("issue_keys") or []
    return (
        deployment_id,
        position,
        str(commit.get("sha") or ""),
        _text(commit.get("summary")),
        _text(commit.get("message")),
        _text(commit.get("author")),
        _text(commit.get("authored_at")),
        _text(commit.get("url")),
        json.dumps([str(k) for k in keys]),
        1 if commit.get("is_merge") else 0,
    )
