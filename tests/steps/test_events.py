"""deploytrail events flush|status: the spool, shown and sent on demand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from deploytrail.cli import main
from fakes.logstash import LogstashTCP, closed_port
from fakes.redis import RedisServer

IDENTITY = ["--service", "api", "--env", "production"]


def test_status_with_nothing_waiting_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "status"]) == 0
    assert "no events waiting" in capsys.readouterr().out


def test_status_lists_each_sink_with_its_count_and_no_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = closed_port()
    for _ in range(2):
        main(["marker", "start", *IDENTITY, "--events", f"redis://:pw-secret@127.0.0.1:{port}/0"])
    main(["marker", "start", *IDENTITY, "--events", f"logstash+tcp://127.0.0.1:{port}"])
    capsys.readouterr()
    assert main(["events", "status"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"2 event\(s\) waiting for redis://127.0.0.1:{port}/0, oldest "
                     r"\d{4}-\d\d-\d\dT[\d:.]+Z", out)
    assert f"1 event(s) waiting for logstash+tcp://127.0.0.1:{port}" in out
    assert "pw-secret" not in out


def test_flush_without_events_sends_every_spooled_sink(
    own_redis: RedisServer, capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"redis://127.0.0.1:{own_redis.port}/0?key=deploys"
    tcp_port = closed_port()
    own_redis.stop()
    for _ in range(3):
        assert main(["marker", "start", *IDENTITY, "--events", url]) == 0
    assert main(["marker", "finish", *IDENTITY, "--outcome", "success", "--events",
                 f"logstash+tcp://127.0.0.1:{tcp_port}"]) == 0
    own_redis.start()
    capsys.readouterr()
    with LogstashTCP(tcp_port) as logstash:
        assert main(["events", "flush"]) == 0
        assert len(logstash.documents(1)) == 1
    out = capsys.readouterr().out
    assert f"{url}: sent 3 waiting event(s)" in out
    assert f"logstash+tcp://127.0.0.1:{tcp_port}: sent 1 waiting event(s)" in out
    assert own_redis.client().llen("deploys") == 3
    assert main(["events", "status"]) == 0
    assert "no events waiting" in capsys.readouterr().out


def test_flush_that_still_fails_exits_3_and_keeps_the_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    main(["marker", "start", *IDENTITY, "--events", url])
    capsys.readouterr()
    assert main(["events", "flush", "--events", url]) == 3
    captured = capsys.readouterr()
    assert "still waiting" in captured.err
    main(["events", "status"])
    assert f"1 event(s) waiting for {url}" in capsys.readouterr().out


def test_flush_sends_a_spooled_logstash_event_with_its_event_id_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    port = closed_port()
    url = f"logstash+tcp://127.0.0.1:{port}"
    assert main(["marker", "start", *IDENTITY, "--events", url]) == 0
    (spooled,) = (tmp_path / "state" / "spool").glob("*.jsonl")
    waiting = json.loads(spooled.read_text())
    with LogstashTCP(port) as logstash:
        assert main(["events", "flush", "--events", url]) == 0
        (received,) = logstash.documents(1)
    assert received == waiting
    assert received["event"]["action"] == "deployment-started"


def test_flush_with_a_bad_url_is_bad_input() -> None:
    assert main(["events", "flush", "--events", "mqtt://broker"]) == 2
