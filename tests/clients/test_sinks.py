"""Event sinks by URL, each against a real server: redis-server, TCP/UDP sockets, a file."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytrail.clients.sinks import default_events_url, open_sink, public_url
from deploytrail.errors import ConfigError, ServiceError, ServiceUnavailable
from deploytrail.events import deploy_event, to_line
from deploytrail.record import ReleaseRecord
from fakes.logstash import LogstashTCP, LogstashUDP, closed_port
from fakes.redis import RedisServer, free_port


def lines(count: int) -> list[str]:
    record = ReleaseRecord(service="api", environment="production", version="1.0")
    return [to_line(deploy_event(record, "start")) for _ in range(count)]


def test_redis_sink_pushes_to_the_tail_of_the_default_list(redis_db: RedisServer) -> None:
    sent = lines(3)
    sink = open_sink(f"redis://127.0.0.1:{redis_db.port}/0")
    sink.send(sent[:2])
    sink.send(sent[2:])
    sink.close()
    stored = [item.decode() for item in redis_db.client().lrange("deploytrail", 0, -1)]
    assert stored == sent


def test_redis_sink_uses_the_key_and_database_from_the_url(redis_db: RedisServer) -> None:
    sink = open_sink(f"redis://127.0.0.1:{redis_db.port}/3?key=deploys")
    sink.send(lines(1))
    sink.close()
    import redis

    assert redis.Redis(port=redis_db.port, db=3).llen("deploys") == 1
    assert redis_db.client().llen("deploys") == 0


def test_redis_list_is_capped_keeping_the_newest(redis_db: RedisServer) -> None:
    sent = lines(7)
    sink = open_sink(f"redis://127.0.0.1:{redis_db.port}/0?key=capped&max=5")
    for line in sent:
        sink.send([line])
    sink.close()
    stored = [item.decode() for item in redis_db.client().lrange("capped", 0, -1)]
    assert stored == sent[2:]


def test_redis_password_comes_from_the_option_or_the_url(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "r", password="s3cret-pw").start()
    try:
        sink = open_sink(f"redis://127.0.0.1:{server.port}/0", password="s3cret-pw")
        sink.send(lines(1))
        sink.close()
        sink = open_sink(f"redis://:s3cret-pw@127.0.0.1:{server.port}/0", password="wrong")
        sink.send(lines(1))
        sink.close()
        assert server.client().llen("deploytrail") == 2
        sink = open_sink(f"redis://127.0.0.1:{server.port}/0", password="wrong-pw")
        with pytest.raises(ServiceError) as refused:
            sink.send(lines(1))
        assert "password was refused" in str(refused.value)
        assert "wrong-pw" not in str(refused.value)
    finally:
        server.stop()


def test_redis_down_is_service_unavailable_quickly() -> None:
    sink = open_sink(f"redis://127.0.0.1:{closed_port()}/0")
    with pytest.raises(ServiceUnavailable, match="could not be reached"):
        sink.send(lines(1))


def test_redis_out_of_memory_is_a_service_error_and_pushes_nothing(redis_db: RedisServer) -> None:
    client = redis_db.client()
    client.config_set("maxmemory", "1")
    try:
        sink = open_sink(f"redis://127.0.0.1:{redis_db.port}/0")
        with pytest.raises(ServiceError, match=r"maxmemory|out of memory") as error:
            sink.send(lines(2))
        assert "Logstash" in str(error.value)
    finally:
        client.config_set("maxmemory", "0")
    assert client.llen("deploytrail") == 0


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A real redis-server speaking only TLS (self-signed certificate), with a password."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([shutil.which("openssl") or "openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-auth-clients", "no",
         "--requirepass", "tls-pa55", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server with TLS did not start"
                time.sleep(0.02)
        yield port, cert
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_rediss_pushes_over_tls_verifying_the_certificate(
    tls_redis: tuple[int, Path],
) -> None:
    import redis

    port, cert = tls_redis
    sent = lines(2)
    sink = open_sink(f"rediss://127.0.0.1:{port}/0?key=tls&ca={cert}", password="tls-pa55")
    assert sink.url == f"rediss://127.0.0.1:{port}/0?key=tls&ca={cert}"
    sink.send(sent)
    sink.close()
    client = redis.Redis(host="127.0.0.1", port=port, password="tls-pa55", ssl=True,
                         ssl_ca_certs=str(cert))
    assert [item.decode() for item in client.lrange("tls", 0, -1)] == sent
    client.close()
    untrusted = open_sink(f"rediss://:tls-pa55@127.0.0.1:{port}/0?key=tls")  # no ca=: refused
    with pytest.raises(ServiceUnavailable, match="certificate verify failed") as error:
        untrusted.send(lines(1))
    assert "tls-pa55" not in str(error.value)
    plain = open_sink(f"redis://:tls-pa55@127.0.0.1:{port}/0?key=tls")  # TLS port, no TLS
    with pytest.raises(ServiceError):
        plain.send(lines(1))


def test_logstash_tcp_server_receives_one_ecs_json_line_per_event() -> None:
    sent = lines(3)
    with LogstashTCP() as server:
        sink = open_sink(f"logstash+tcp://127.0.0.1:{server.port}")
        sink.send(sent)
        sink.close()
        documents = server.documents(3)
    assert documents == [json.loads(line) for line in sent]
    assert "host" not in documents[0] and "@version" not in documents[0]
    assert documents[0]["event"]["action"] == "deployment-started"


def test_logstash_udp_server_receives_one_ecs_json_datagram_per_event() -> None:
    sent = lines(2)
    with LogstashUDP() as server:
        sink = open_sink(f"logstash+udp://127.0.0.1:{server.port}")
        sink.send(sent)
        sink.close()
        documents = server.documents(2)
        assert all(payload.endswith(b"\n") for payload in server.payloads)
    assert sorted(d["event"]["id"] for d in documents) == sorted(
        json.loads(line)["event"]["id"] for line in sent)
    assert set(documents[0]) == {"@timestamp", "message", "event", "service", "labels", "tags"}


def test_logstash_tcp_refused_raises_instead_of_dropping_silently() -> None:
    sink = open_sink(f"logstash+tcp://127.0.0.1:{closed_port()}")
    with pytest.raises(ServiceUnavailable, match="Logstash"):
        sink.send(lines(1))


def test_file_sink_appends_json_lines_creating_folders(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "events.jsonl"
    sent = lines(3)
    open_sink(f"file:{target}").send(sent[:1])
    open_sink(f"file://{target}").send(sent[1:])
    assert target.read_text().splitlines() == sent


def test_file_sink_that_cannot_write_is_a_service_error(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file, not a folder")
    with pytest.raises(ServiceError, match="could not append"):
        open_sink(f"file:{tmp_path / 'blocker' / 'events.jsonl'}").send(lines(1))


def test_default_sink_is_a_file_in_the_state_dir(tmp_path: Path) -> None:
    assert default_events_url() == f"file:{tmp_path / 'state' / 'events.jsonl'}"
    open_sink("file:").send(lines(1))
    assert len((tmp_path / "state" / "events.jsonl").read_text().splitlines()) == 1


@pytest.mark.parametrize("url, problem", [
    ("kafka://broker:9092", "unknown scheme"),
    ("redis.example.com:6379", "unknown scheme"),
    ("redis://127.0.0.1:6379/zero", "not a number"),
    ("redis://127.0.0.1:port/0", "port is not a number"),
    ("redis://127.0.0.1:6379/0?key=x&maxlen=3", "unknown option"),
    ("redis://127.0.0.1:6379/0?max=0", "at least 1"),
    ("logstash+tcp://127.0.0.1", "HOST and PORT"),
    ("logstash+udp://127.0.0.1:5959/path", "only HOST:PORT"),
])
def test_bad_sink_urls_name_the_problem_and_the_supported_forms(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        open_sink(url)
    assert problem in str(error.value)
    assert "redis://HOST:PORT/DB?key=NAME" in str(error.value)
    assert "logstash+udp://" in str(error.value) and "file:PATH" in str(error.value)


def test_bad_url_error_never_shows_the_password() -> None:
    with pytest.raises(ConfigError) as error:
        open_sink("redis://:hunter22@127.0.0.1:6379/x")
    assert "hunter22" not in str(error.value)


@pytest.mark.parametrize("url", [
    "redis://127.0.0.1:6379/0?password=hunter22",
    "rediss://127.0.0.1:6379/0?key=k&Password=hunter22&max=5",
    "redis://:hunter22@127.0.0.1:6379/0?pass=hunter22",
])
def test_a_password_in_the_query_is_refused_without_being_shown(url: str) -> None:
    with pytest.raises(ConfigError) as error:
        open_sink(url)
    assert "hunter22" not in str(error.value)
    assert "unknown option" in str(error.value) and "DEPLOYTRAIL_REDIS_PASSWORD" in str(error.value)


def test_public_url_drops_only_the_password() -> None:
    assert public_url("redis://:pw@h:1/0?key=k") == "redis://h:1/0?key=k"
    assert public_url("rediss://user:pw@h:1/0") == "rediss://user@h:1/0"
    assert public_url("redis://h:1/0?key=k") == "redis://h:1/0?key=k"
