"""deploytrail marker start|finish: events into a real Redis, never lost, never doubled."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from deploytrail import record as records
from deploytrail.cli import main
from deploytrail.clients.spool import deliver, spools
from deploytrail.record import ReleaseRecord
from deploytrail.steps.marker import publish_marker
from deploytrail.teamcity import PlainReporter
from fakes.logstash import LogstashUDP, closed_port
from fakes.redis import RedisServer
from fakes.teamcity import FakeTeamCity

IDENTITY = ["--service", "api", "--env", "production"]
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def events_in(server: RedisServer, key: str = "deploytrail") -> list[dict[str, object]]:
    return [json.loads(item) for item in server.client().lrange(key, 0, -1)]


def test_start_and_finish_land_in_redis_with_the_exact_schema(redis_db: RedisServer) -> None:
    sink = ["--events", f"redis://127.0.0.1:{redis_db.port}/0?key=deploys"]
    assert main(["marker", "start", *IDENTITY, "--version", "1.4.2", "--build-number", "311",
                 "--revision", "a" * 40, "--build-url", "https://tc/viewLog.html?buildId=9",
                 "--triggered-by", "alice", *sink]) == 0
    assert main(["marker", "finish", *IDENTITY, "--outcome", "success", *sink]) == 0
    start, finish = events_in(redis_db, "deploys")
    record = records.load()
    assert start["event"]["action"] == "deployment-started"  # type: ignore[index]
    assert finish["event"]["action"] == "deployment-finished"  # type: ignore[index]
    assert start["@timestamp"] == record.started_at and TIMESTAMP.match(record.started_at or "")
    assert finish["@timestamp"] == record.finished_at
    assert finish["event"]["outcome"] == "success" == record.outcome  # type: ignore[index]
    assert isinstance(finish["event"]["duration"], int)  # type: ignore[index]
    assert start["labels"] == {"deployment_id": record.deployment_id, "build_number": "311",
                               "vcs_revision": "a" * 40, "triggered_by": "alice"}
    assert finish["labels"] == start["labels"]
    assert start["url"] == {"full": "https://tc/viewLog.html?buildId=9"}
    assert finish["message"] == "api 1.4.2 deployment to production finished: success"
    assert start["event"]["id"] != finish["event"]["id"]  # type: ignore[index]
    assert record.notes["events"]["finish"]["id"] == finish["event"]["id"]  # type: ignore[index]


def test_without_events_the_default_file_sink_is_used(tmp_path: Path) -> None:
    assert main(["marker", "start", *IDENTITY, "--version", "2.0"]) == 0
    lines = (tmp_path / "state" / "events.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["service"]["version"] == "2.0"


def test_several_sinks_each_get_the_same_event(redis_db: RedisServer, tmp_path: Path) -> None:
    target = tmp_path / "events.jsonl"
    assert main(["marker", "start", *IDENTITY, "--events", f"file:{target}", "--events",
                 f"redis://127.0.0.1:{redis_db.port}/0"]) == 0
    assert events_in(redis_db) == [json.loads(target.read_text())]


def test_a_new_build_starts_a_new_deployment_id_and_finish_reuses_it(tmp_path: Path) -> None:
    assert main(["marker", "start", *IDENTITY, "--build-number", "1"]) == 0
    first = records.load().deployment_id
    assert main(["marker", "finish", *IDENTITY, "--outcome", "failure"]) == 0
    assert records.load().deployment_id == first
    assert main(["marker", "start", *IDENTITY, "--build-number", "2"]) == 0
    second = records.load()
    assert second.deployment_id != first and second.outcome is None
    lines = [json.loads(x) for x in (tmp_path / "state" / "events.jsonl").read_text().splitlines()]
    assert [e["labels"]["deployment_id"] for e in lines] == [first, first, second.deployment_id]


def test_a_bad_sink_url_is_bad_input_and_sends_nothing(redis_db: RedisServer) -> None:
    code = main(["marker", "start", *IDENTITY, "--events", f"redis://127.0.0.1:{redis_db.port}/0",
                 "--events", "kafka://broker:9092"])
    assert code == 2
    assert events_in(redis_db) == []


def test_wrong_password_spools_warns_and_exits_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = RedisServer(tmp_path / "r", password="right-password").start()
    try:
        monkeypatch.setenv("DEPLOYTRAIL_REDIS_PASSWORD", "wrong-password")
        url = f"redis://127.0.0.1:{server.port}/0"
        assert main(["marker", "start", *IDENTITY, "--events", url]) == 0
        err = capsys.readouterr().err
        assert "warning" in err and "password was refused" in err and "spool" in err
        assert "wrong-password" not in err
        assert spools() == [(url, 1)]
        monkeypatch.setenv("DEPLOYTRAIL_REDIS_PASSWORD", "right-password")
        assert main(["marker", "finish", *IDENTITY, "--outcome", "success", "--events", url]) == 0
        actions = [json.loads(x)["event"]["action"]
                   for x in server.client().lrange("deploytrail", 0, -1)]
        assert actions == ["deployment-started", "deployment-finished"]
        assert spools() == []
    finally:
        server.stop()


def test_under_teamcity_a_sink_failure_is_a_warning_message_not_a_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAMCITY_VERSION", "2025.07")
    code = main(["marker", "start", *IDENTITY, "--events",
                 f"redis://127.0.0.1:{closed_port()}/0"])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"##teamcity\[message timestamp='[^']+' status='WARNING' "
                     r"text='deploy start event not sent: Redis redis://127.0.0.1:\d+/0: could "
                     r"not be reached", out)
    assert "buildProblem" not in out


def test_a_thousand_markers_survive_a_redis_restart_in_order_without_doubles(
    own_redis: RedisServer,
) -> None:
    url = f"redis://127.0.0.1:{own_redis.port}/0"
    quiet = PlainReporter(err=io.StringIO(), out=io.StringIO())
    sent_ids = []
    for n in range(1000):
        if n == 300:  # Redis goes away (saving its data, as a production Redis would)
            own_redis.client().save()
            own_redis.stop()
        if n == 500:
            own_redis.start()
        record = ReleaseRecord(service="api", environment="production", version=str(n))
        publish_marker(record, "start", [url], reporter=quiet)
        sent_ids.append(record.notes["events"]["start"]["id"])
        assert (record.notes["events"]["start"]["spooled"] == [url]) == (300 <= n < 500)
    flushed = deliver(url)
    assert flushed.error is None and flushed.waiting == 0
    stored = events_in(own_redis)
    assert [e["event"]["id"] for e in stored] == sent_ids  # type: ignore[index]
    assert len(set(sent_ids)) == 1000
    assert [e["service"]["version"] for e in stored] == [str(n) for n in range(1000)]  # type: ignore[index]


def write_build_properties(tmp_path: Path, server_url: str, build_id: str) -> Path:
    config = tmp_path / "build.config.properties"
    config.write_text("#TeamCity build configuration parameters\n"
                      f"teamcity.serverUrl={server_url.replace(':', chr(92) + ':')}\n")
    props = tmp_path / "build.properties"
    props.write_text(
        "#TeamCity build properties without 'system.' prefix\n"
        f"teamcity.build.id={build_id}\n"
        f"teamcity.auth.userId=TeamCityBuildId\\={build_id}\n"
        "teamcity.auth.password=generated-build-pw\n"
        f"teamcity.configuration.properties.file={str(config).replace(':', chr(92) + ':')}\n")
    return props


@pytest.mark.parametrize("status, outcome", [("FAILURE", "failure"), ("SUCCESS", "success")])
def test_under_teamcity_finish_takes_the_outcome_from_the_running_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: str, outcome: str
) -> None:
    teamcity = FakeTeamCity.shared("marker")
    build = teamcity.add_build("Api_DeployProd", status=status, state="running")
    teamcity.users = {f"TeamCityBuildId={build.id}": "generated-build-pw"}
    props = write_build_properties(tmp_path, teamcity.url, str(build.id))
    monkeypatch.setenv("TEAMCITY_VERSION", "2025.07")
    monkeypatch.setenv("TEAMCITY_BUILD_PROPERTIES_FILE", str(props))
    assert main(["marker", "start", *IDENTITY]) == 0
    assert main(["marker", "finish", *IDENTITY]) == 0
    assert records.load().outcome == outcome
    last = (tmp_path / "state" / "events.jsonl").read_text().splitlines()[-1]
    assert json.loads(last)["event"]["outcome"] == outcome
    (asked,) = teamcity.received("GET", rf"/app/rest/builds/id:{build.id}")
    assert (asked.header("Authorization") or "").startswith("Basic ")


def test_finish_outcome_given_wins_over_teamcity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    teamcity = FakeTeamCity.shared("marker")
    build = teamcity.add_build("Api_DeployProd", status="FAILURE", state="running")
    monkeypatch.setenv("TEAMCITY_VERSION", "2025.07")
    monkeypatch.setenv("TEAMCITY_BUILD_PROPERTIES_FILE",
                       str(write_build_properties(tmp_path, teamcity.url, str(build.id))))
    assert main(["marker", "finish", *IDENTITY, "--outcome", "success"]) == 0
    assert records.load().outcome == "success"
    assert teamcity.received("GET") == []


def test_teamcity_unreachable_gives_unknown_outcome_and_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    props = write_build_properties(tmp_path, f"http://127.0.0.1:{closed_port()}", "7")
    monkeypatch.setenv("TEAMCITY_VERSION", "2025.07")
    monkeypatch.setenv("TEAMCITY_BUILD_PROPERTIES_FILE", str(props))
    assert main(["marker", "finish", *IDENTITY]) == 0
    out = capsys.readouterr().out
    assert "cannot read the build status" in out and "status='WARNING'" in out
    assert "generated-build-pw" not in out
    assert records.load().outcome == "unknown"


def test_finish_outside_teamcity_without_outcome_warns_and_says_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["marker", "finish", *IDENTITY]) == 0
    err = capsys.readouterr().err
    assert "--outcome" in err and "no start marker" in err
    assert records.load().outcome == "unknown"


def test_a_100_kb_version_still_reaches_logstash_over_udp_instead_of_sticking_in_the_spool(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with LogstashUDP() as server:
        url = f"logstash+udp://127.0.0.1:{server.port}"
        assert main(["marker", "start", *IDENTITY, "--version", "9" * 100_000,
                     "--events", url]) == 0
        (document,) = server.documents(1)
    assert document["service"]["version"].startswith("999")
    assert spools() == [] and "warning" not in capsys.readouterr().err


def test_an_unusable_state_directory_never_fails_the_deploy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("DEPLOYTRAIL_HOME", str(tmp_path / "a-file" / "state"))
    target = tmp_path / "events.jsonl"
    assert main(["marker", "start", *IDENTITY, "--events", f"file:{target}"]) == 0
    assert json.loads(target.read_text())["event"]["action"] == "deployment-started"
    assert "the local spool is unusable" in capsys.readouterr().err
    assert main(["marker", "finish", *IDENTITY, "--outcome", "success",
                 "--events", f"redis://127.0.0.1:{closed_port()}/0"]) == 0
    err = capsys.readouterr().err
    assert "could not be reached" in err and "1 new event(s) lost" in err
    assert main(["marker", "finish", *IDENTITY, "--outcome", "success"]) == 0
    assert "no --events given" in capsys.readouterr().err
    assert main(["events", "status"]) == 2
    assert "DEPLOYTRAIL_HOME" in capsys.readouterr().err
    assert main(["events", "flush", "--events", f"file:{target}"]) == 2
    assert "the local spool is unusable" in capsys.readouterr().err
