"""The deploy event: one ECS-shaped JSON document per marker (start or finish of a deployment).

The shape is fixed by DESIGN.md (and mapped by the shipped Elasticsearch index template)::

    @timestamp  ISO-8601 UTC with milliseconds and Z
    message     "api 1.4.2 deployment to production finished: success"
    event       id (unique per event), kind, category, type, action, dataset;
                outcome and duration (nanoseconds) on finish only
    service     name, environment, version
    labels      deployment_id (shared by start and finish), build_number, vcs_revision,
                previous_revision, ccb, commit_count, triggered_by: only those known
    url.full    the build's URL, when known
    tags        ["deploytrail", "deployment"]

``event.id`` is what makes a re-sent event harmless: the shipped Logstash pipeline indexes with
``document_id => "%{[event][id]}"``.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    from deploytrail.record import ReleaseRecord

    Phase = Literal["start", "finish"]

__all__ = ["ACTIONS", "DATASET", "TAGS", "deploy_event", "duration_ns", "now_iso", "to_line"]

DATASET = "deploytrail.deployment"
TAGS = ("deploytrail", "deployment")
ACTIONS = {"start": "deployment-started", "finish": "deployment-finished"}
OUTCOMES = ("success", "failure", "unknown")
#: Longest text kept in a field (the index template's ``ignore_above``): a 100 KB version
#: would not be searchable anyway, and it would make the event too big for one UDP datagram,
#: stuck in the spool for ever.
MAX_TEXT = 1024


def deploy_event(record: ReleaseRecord, phase: Phase, *, at: str | None = None) -> dict[str, Any]:
    """The event document for ``phase`` of the deployment ``record`` describes.

    ``at`` is the event time (ISO-8601); by default the record's started_at/finished_at, else
    now. A finish event carries ``record.outcome`` (``unknown`` when not set) and the time since
    ``record.started_at`` in nanoseconds.
    """
    if phase not in ACTIONS:
        raise ValueError(f"phase must be 'start' or 'finish', not {phase!r}")
    timestamp = at or (record.started_at if phase == "start" else record.finished_at)
    timestamp = _normalised(timestamp) if timestamp else now_iso()
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": "event",
        "category": ["configuration"],
        "type": ["change"],
        "action": ACTIONS[phase],
        "dataset": DATASET,
    }
    outcome = ""
    if phase == "finish":
        outcome = record.outcome if record.outcome in OUTCOMES else "unknown"
        event["outcome"] = outcome
        duration = duration_ns(record.started_at, timestamp)
        if duration is not None:
            event["duration"] = duration
    service = _known({"name": record.service, "environment": record.environment,
                      "version": record.version})
    document: dict[str, Any] = {
        "@timestamp": timestamp,
        "message": _message(service, phase, outcome),
        "event": event,
        "service": service,
        "labels": _labels(record),
    }
    if record.build_url:
        document["url"] = {"full": _fit(record.build_url)}
    document["tags"] = list(TAGS)
    return document


def to_line(document: dict[str, Any]) -> str:
    """One compact JSON line (no newline): what every sink sends and the spool keeps."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def now_iso() -> str:
    """Now as Logstash and the record want it: ``2026-11-26T23:30:00.123Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def duration_ns(start: str | None, end: str | None) -> int | None:
    """Nanoseconds from ``start`` to ``end`` (ISO-8601), or None when either is unknown."""
    if not start or not end:
        return None
    try:
        delta = _parse(end) - _parse(start)
    except ValueError:
        return None
    micro = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return max(micro, 0) * 1000


def _normalised(timestamp: str) -> str:
    """Any ISO-8601 time as UTC with milliseconds and ``Z`` (what Logstash parses)."""
    moment = _parse(timestamp).astimezone(timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _message(service: dict[str, str], phase: Phase, outcome: str) -> str:
    what = " ".join(p for p in (service.get("name", "service"), service.get("version")) if p)
    where = f" to {service['environment']}" if service.get("environment") else ""
    if phase == "start":
        return f"{what} deployment{where} started"
    return f"{what} deployment{where} finished: {outcome}"


def _labels(record: ReleaseRecord) -> dict[str, str]:
    counted = bool(record.commits) or record.changelog_status is not None
    return _known({
        "deployment_id": record.deployment_id,
        "build_number": record.build_number,
        "vcs_revision": record.revision,
        "previous_revision": record.previous_revision,
        "ccb": record.ticket_key,
        "commit_count": str(record.commit_count) if counted else None,
        "triggered_by": record.triggered_by,
    })


def _known(values: dict[str, str | None]) -> dict[str, str]:
    return {key: _fit(str(value)) for key, value in values.items() if value not in (None, "")}


def _fit(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"
