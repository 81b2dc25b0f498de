"""The spool: what a sink does not take waits on disk, in order, and goes first next time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from deploytrail.clients.spool import Spool, deliver, spools
from deploytrail.errors import ServiceError
from fakes.logstash import closed_port
from fakes.redis import RedisServer


def numbered(start: int, stop: int, pad: int = 0) -> list[str]:
    """Event lines that say their own sequence number (and carry a unique event.id)."""
    return [json.dumps({"event": {"id": f"id-{n}"}, "n": n, "pad": "x" * pad})
            for n in range(start, stop)]


def in_redis(server: RedisServer, key: str = "deploytrail") -> list[int]:
    return [json.loads(item)["n"] for item in server.client().lrange(key, 0, -1)]


def test_failed_delivery_spools_and_the_next_sends_the_spool_first(redis_db: RedisServer) -> None:
    down = f"redis://127.0.0.1:{redis_db.port}/0"
    redis_db.stop()
    first = deliver(down, numbered(0, 2))
    second = deliver(down, numbered(2, 3))
    assert (first.sent, first.waiting, second.waiting) == (0, 2, 3)
    assert isinstance(second.error, ServiceError)
    redis_db.start()
    third = deliver(down, numbered(3, 4))
    assert (third.sent, third.waiting, third.error) == (4, 0, None)
    assert in_redis(redis_db) == [0, 1, 2, 3]
    assert spools() == []


def test_a_sink_failing_midway_keeps_the_unsent_rest_in_order(redis_db: RedisServer) -> None:
    url = f"redis://127.0.0.1:{redis_db.port}/0"
    redis_db.stop()
    deliver(url, numbered(0, 300, pad=500))  # all spooled
    redis_db.start()
    client = redis_db.client()
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", str(used + 300_000))  # room for a few chunks only
    try:
        partly = deliver(url, numbered(300, 301, pad=500), chunk=20)
    finally:
        client.config_set("maxmemory", "0")
    assert 0 < partly.sent < 301 and partly.sent % 20 == 0
    assert partly.waiting == 301 - partly.sent
    assert in_redis(redis_db) == list(range(partly.sent))
    rest = deliver(url)
    assert rest.sent == partly.waiting and rest.waiting == 0
    assert in_redis(redis_db) == list(range(301))


def test_spools_are_per_sink_and_store_no_password(tmp_path: Path) -> None:
    port = closed_port()
    deliver(f"redis://:hunter22@127.0.0.1:{port}/0?key=a", numbered(0, 1))
    deliver(f"redis://127.0.0.1:{port}/0?key=b", numbered(1, 3), password="hunter22")
    assert spools() == [(f"redis://127.0.0.1:{port}/0?key=a", 1),
                        (f"redis://127.0.0.1:{port}/0?key=b", 2)]
    for path in (tmp_path / "state" / "spool").iterdir():
        assert "hunter22" not in path.read_text()


def test_a_line_torn_by_a_crash_is_dropped_and_not_glued_to_the_next(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    deliver(url, numbered(0, 2))
    spool = Spool(url)
    with open(spool.path, "a") as handle:
        handle.write('{"event": {"id": "torn')
    deliver(url, numbered(2, 3))
    assert [json.loads(line)["n"] for line in spool.waiting()] == [0, 1, 2]


WORKER = """
import json, sys
from deploytrail.clients.spool import deliver
url, name, count, flush = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
for n in range(count):
    if flush:
        deliver(url)
    line = json.dumps({"event": {"id": f"{name}-{n}"}, "worker": name, "n": n})
    deliver(url, [line], chunk=7)
"""


def run_workers(url: str, prefix: str, count: int, flush: bool, workers: int = 4) -> None:
    env = {**os.environ}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, f"{prefix}{i}", str(count),
                               "1" if flush else "0"], env=env) for i in range(workers)]
    assert [p.wait(timeout=60) for p in procs] == [0] * workers


def test_concurrent_processes_lose_and_duplicate_nothing(own_redis: RedisServer) -> None:
    url = f"redis://127.0.0.1:{own_redis.port}/0"
    own_redis.stop()
    run_workers(url, "a", 40, flush=False)  # all four spool at once
    assert spools() == [(url, 160)]
    own_redis.start()
    run_workers(url, "b", 20, flush=True)  # all four drain the same spool and publish at once
    stored = own_redis.client().lrange("deploytrail", 0, -1)
    ids = [json.loads(item)["event"]["id"] for item in stored]
    assert len(ids) == len(set(ids)) == 4 * 60
    assert spools() == []
    for worker in [f"a{i}" for i in range(4)] + [f"b{i}" for i in range(4)]:
        mine = [int(i.split("-")[1]) for i in ids if i.startswith(f"{worker}-")]
        assert mine == list(range(40 if worker[0] == "a" else 20))  # each in its own order
    assert max(ids.index(f"a{i}-39") for i in range(4)) < min(
        ids.index(f"b{i}-0") for i in range(4))  # the spool went before anything new
