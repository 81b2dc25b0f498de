"""The release record: one JSON file the steps of one deployment share.

TeamCity runs each step as its own process, so a step loads the record, adds its part and saves
it atomically (temp file + rename) under a lock. ``DEPLOYTRAIL_RECORD`` moves the file.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
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
        values = {k: v for k, v in data.items() if k in _SHAPES}
        wrong = [f"{name} ({type(value).__name__}, expected {_SHAPES[name][1]})"
                 for name, value in values.items() if not _SHAPES[name][0](value)]
        if wrong:
            raise RecordError(
                f"release record {source} has fields of the wrong type: {', '.join(wrong)}",
                hint=f"fix those fields, or delete {source} to start a new deployment record",
            )
        return cls(**values)


def _is_text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _is_commits(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


#: What each field of a saved record must hold (a hand-edited file is checked on load).
_SHAPES: dict[str, tuple[Callable[[object], bool], str]] = {
    "deployment_id": (lambda v: isinstance(v, str) and v != "", "text"),
    "changelog_truncated": (lambda v: isinstance(v, bool), "true or false"),
    "commits": (_is_commits, "a list of objects"),
    "pinned": (lambda v: isinstance(v, dict), "an object"),
    "notes": (lambda v: isinstance(v, dict), "an object"),
}
_SHAPES.update({f.name: (_is_text, "text or null") for f in fields(ReleaseRecord)
                if f.name not in _SHAPES})


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
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        _make_folder(target.parent)
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(record.to_json(), handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with suppress(OSError):
            tmp.unlink()
        raise _unwritable(target, exc) from None
    return target


@contextmanager
def update(path: str | os.PathLike[str] | None = None) -> Iterator[ReleaseRecord]:
    """Load, let the caller change, save; concurrent steps take turns on a lock file."""
    target = record_path(path)
    with ExitStack() as stack:
        try:
            _make_folder(target.parent)
            stack.enter_context(exclusive(target.with_name(target.name + ".lock")))
        except OSError as exc:
            raise _unwritable(target, exc) from None
        record = load(target)
        yield record
        save(record, target)


def _make_folder(folder: Path) -> None:
    """Create the record's folder; the default ``.deploytrail/`` in a checkout ignores itself
    in git, so a release leaves nothing to commit in the service's repository."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if folder.name == DEFAULT_PATH.parent.name and not ignore.exists():
        ignore.write_text("# written by deploytrail: release records are not source\n*\n")


def _unwritable(target: Path, exc: OSError) -> RecordError:
    return RecordError(
        f"cannot write release record {target}: {exc.strerror or exc}"
        + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(target) else ""),
        hint="point DEPLOYTRAIL_RECORD (or --record) at a file in a writable folder",
    )
