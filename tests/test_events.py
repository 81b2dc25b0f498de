"""The deploy event document: exactly the ECS shape DESIGN.md gives."""

from __future__ import annotations

import json
import re
import uuid

from deploytrail.events import deploy_event, duration_ns, to_line
from deploytrail.record import ReleaseRecord

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def full_record() -> ReleaseRecord:
    return ReleaseRecord(
        service="api", environment="production", version="1.4.2", build_number="311",
        build_url="https://teamcity.example.com/viewLog.html?buildId=9021", triggered_by="alice",
        revision="a" * 40, previous_revision="b" * 40, ticket_key="CCB-123",
        commits=[{"sha": str(i)} for i in range(12)], changelog_status="ahead",
        started_at="2026-11-26T23:28:37.123Z", finished_at="2026-11-26T23:30:00.123Z",
        outcome="success",
    )


def test_finish_event_has_exactly_the_design_fields() -> None:
    record = full_record()
    event = deploy_event(record, "finish")
    assert list(event) == ["@timestamp", "message", "event", "service", "labels", "url", "tags"]
    assert event["@timestamp"] == "2026-11-26T23:30:00.123Z"
    assert event["message"] == "api 1.4.2 deployment to production finished: success"
    assert uuid.UUID(event["event"].pop("id"))
    assert event["event"] == {
        "kind": "event", "category": ["configuration"], "type": ["change"],
        "action": "deployment-finished", "outcome": "success", "duration": 83_000_000_000,
        "dataset": "deploytrail.deployment"}
    assert event["service"] == {"name": "api", "environment": "production", "version": "1.4.2"}
    assert event["labels"] == {
        "deployment_id": record.deployment_id, "build_number": "311", "vcs_revision": "a" * 40,
        "previous_revision": "b" * 40, "ccb": "CCB-123", "commit_count": "12",
        "triggered_by": "alice"}
    assert event["url"] == {"full": "https://teamcity.example.com/viewLog.html?buildId=9021"}
    assert event["tags"] == ["deploytrail", "deployment"]


def test_start_event_has_no_outcome_or_duration() -> None:
    event = deploy_event(full_record(), "start")
    assert event["event"]["action"] == "deployment-started"
    assert "outcome" not in event["event"] and "duration" not in event["event"]
    assert event["@timestamp"] == "2026-11-26T23:28:37.123Z"
    assert event["message"] == "api 1.4.2 deployment to production started"


def test_start_and_finish_share_the_deployment_id_but_not_the_event_id() -> None:
    record = full_record()
    start, finish = deploy_event(record, "start"), deploy_event(record, "finish")
    assert start["labels"]["deployment_id"] == finish["labels"]["deployment_id"]
    assert start["event"]["id"] != finish["event"]["id"]


def test_unknown_labels_and_url_are_left_out() -> None:
    record = ReleaseRecord(service="api", environment="staging")
    event = deploy_event(record, "start")
    assert event["labels"] == {"deployment_id": record.deployment_id}
    assert "url" not in event
    assert event["service"] == {"name": "api", "environment": "staging"}
    assert TIMESTAMP.match(event["@timestamp"])


def test_finish_without_outcome_says_unknown_and_without_start_has_no_duration() -> None:
    event = deploy_event(ReleaseRecord(service="api", environment="prod"), "finish")
    assert event["event"]["outcome"] == "unknown"
    assert "duration" not in event["event"]


def test_zero_commits_counted_by_the_changelog_is_a_label() -> None:
    record = ReleaseRecord(service="api", environment="prod", changelog_status="identical")
    assert deploy_event(record, "start")["labels"]["commit_count"] == "0"


def test_timestamps_in_other_offsets_become_utc_with_milliseconds() -> None:
    record = ReleaseRecord(service="api", environment="prod",
                           started_at="2026-11-27T01:00:00+02:00")
    assert deploy_event(record, "start")["@timestamp"] == "2026-11-26T23:00:00.000Z"


def test_duration_is_in_nanoseconds() -> None:
    assert duration_ns("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:01.500Z") == 1_500_000_000
    assert duration_ns(None, "2026-01-01T00:00:01.500Z") is None


def test_a_line_is_one_compact_json_document() -> None:
    record = full_record()
    record.triggered_by = "zoë\nx"
    line = to_line(deploy_event(record, "start"))
    assert "\n" not in line
    assert json.loads(line)["labels"]["triggered_by"] == "zoë\nx"


def test_hostile_100_kb_values_are_cut_to_what_the_index_keeps() -> None:
    from deploytrail.events import MAX_TEXT

    record = full_record()
    record.version = "1.0-" + "v" * 100_000
    record.triggered_by = "zoë ##teamcity[ | ] <b>%x%" * 10_000
    record.build_url = "https://tc/viewLog.html?buildId=1&x=" + "y" * 100_000
    for phase in ("start", "finish"):
        event = deploy_event(record, phase)
        assert len(event["service"]["version"]) == MAX_TEXT
        assert event["service"]["version"].startswith("1.0-vvv")
        assert event["service"]["version"].endswith("…")
        assert len(event["labels"]["triggered_by"]) == MAX_TEXT
        assert len(event["url"]["full"]) == MAX_TEXT
        assert len(to_line(event).encode("utf-8")) < 16_000  # one UDP datagram, with room
