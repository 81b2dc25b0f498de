"""The release record: one JSON file the steps of one deployment share.

TeamCity runs each step as its own process, so a step loads the record, adds its part and saves
it atomically (temp file + rename) under a lock. ``DEPLOYTRAIL_RECORD`` moves the file.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from deploytrail.errors import RecordError
from deploytrail.locking import exclusive

__all__ = ["DEFAULT_PATH", "SCHEMA", "ReleaseRecord", "load", "record_path", "save", "update"]

SCHEMA = "deploytrail.release/1"
DEFAULT_PATH = Path(".deploytrail") / "release.json"


@dataclass
class ReleaseRecord:
    """Everything known about one deployment; each step fills in its part."""

    deployment_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    service: str | None = None
    environment: str | None = None
    version: str | None = None
    build_number: str | None = None
    build_url: str | None = None
    triggered_by: str | None = None
    revision: str | None = None
    previous_revision: str | None = None
    #: ``ahead``, ``identical``, ``behind``, ``diverged`` or ``first`` (see changelog).
    changelog_status: str | None = None
    changelog_truncated: bool = False
    compare_url: str | None = None
    commits: list[dict[str, Any]] = field(default_factory=list)
    ticket_key: str | None = None
    ticket_url: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    #: ``success`` or ``failure``.
    outcome: str | None = None
    outcome_reason: str | None = None
    #: The non-prod build promoted to production (``deploytrail pinned``).
    pinned: dict[str, Any] = field(default_factory=dict)
    #: Free-form notes steps leave for later steps (warnings, spooled sinks…).
    notes: dict[str, Any] = field(default_factory=dict)
    #: The TeamCity build that owns this record: a record left in a reused checkout directory
    #: by an earlier build is never continued (it would reuse that deployment's id and ticket).
    teamcity_build_id: str | None = field(default_factory=lambda: _current_build_id())

    @property
    def commit_count(self) -> int:
        return len(self.commits)

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **asdict(self)}

    @classmethod
    def from_json(cls, data: object, source: str) -> ReleaseRecord:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise RecordError(
                f"{source} is not a deploytrail release record (no \"schema\": \"{SCHEMA}\")",
                hint="point DEPLOYTRAIL_RECORD (or --record) at a deploytrail record, "
                "or delete the file",
            )
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        try:
            return cls(**values)
        except TypeError as exc:  # pragma: no cover - dataclass rejects nothing it declares
            raise RecordError(f"{source} has unexpected fields: {exc}") from exc


def _current_build_id() -> str | None:
    """``teamcity.build.id`` of the running build, from the agent's build properties file."""
    path = os.environ.get("TEAMCITY_BUILD_PROPERTIES_FILE")
    if not path:
        return None
    from deploytrail.clients.buildprops import read_properties

    try:
        return read_properties(Path(path)).get("teamcity.build.id")
    except OSError:
        return None


def record_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The record file: the given path, else ``DEPLOYTRAIL_RECORD``, else the default."""
    if path:
        return Path(path)
    return Path(os.environ.get("DEPLOYTRAIL_RECORD") or DEFAULT_PATH)


def load(path: str | os.PathLike[str] | None = None) -> ReleaseRecord:
    """Read the record; a missing file gives a fresh record with a new deployment id."""
    target = record_path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ReleaseRecord()
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"cannot read release record {target}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(
            f"release record {target} is not valid JSON ({exc.msg} at line {exc.lineno})",
            hint=f"delete {target} to start a new deployment record",
        ) from exc
    found = ReleaseRecord.from_json(data, str(target))
    current = _current_build_id()
    if current is not None and found.teamcity_build_id != current:
        return ReleaseRecord()  # left behind by an earlier build in a reused checkout
    return found


def save(record: ReleaseRecord, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the record atomically: a temp file in the same folder, then rename."""
    target = record_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(record.to_json(), handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    return target


@contextmanager
def update(path: str | os.PathLike[str] | None = None) -> Iterator[ReleaseRecord]:
    """Load, let the caller change, save; concurrent steps take turns on a lock file."""
    target = record_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(target.with_name(target.name + ".lock")):
        record = load(target)
        yield record
        save(record, target)
