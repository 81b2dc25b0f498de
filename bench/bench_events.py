"""Deploy markers: a whole ``deploytrail marker start`` to Redis beside a one-RPUSH redis-py
script, and flushing 10 000 spooled events beside ``redis-benchmark -t rpush`` (same server)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PYTHON, ROOT, Result, time_command

sys.path.insert(0, str(ROOT / "src"))

FLUSH_EVENTS = 10_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.02)
    proc.terminate()
    raise RuntimeError("redis-server did not start")


def _marker_start(port: int, home: Path) -> Result:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DEPLOYTRAIL_", "TEAMCITY_"))}
    env.update(DEPLOYTRAIL_HOME=str(home / "state"), DEPLOYTRAIL_RECORD=str(home / "rel.json"))
    baseline = time_command(
        [PYTHON, "-c", f"import redis; redis.Redis(port={port}).rpush('bench', 'x')"],
        runs=21, env=env)
    value = time_command(
        [PYTHON, "-m", "deploytrail", "marker", "start", "--service", "api", "--env",
         "production", "--version", "1.0", "--events", f"redis://127.0.0.1:{port}/0?key=bench"],
        runs=21, env=env)
    return Result("marker start → Redis (whole process)", value * 1000, baseline * 1000, "ms",
                  "baseline: python -c 'import redis; Redis().rpush(...)'", limit=1.3)


def _flush(port: int, home: Path) -> Result:
    from deploytrail.clients.spool import Spool, deliver

    url = f"redis://127.0.0.1:{port}/0?key=flush&max={FLUSH_EVENTS * 2}"
    line = json.dumps({"@timestamp": "2026-11-26T23:30:00.123Z", "event": {"id": "x" * 36},
                       "message": "api 1.4.2 deployment to production started",
                       "labels": {"deployment_id": "y" * 36}})
    spool = Spool(url, home / "spool")
    spool.directory.mkdir(parents=True, exist_ok=True)
    samples = []
    for _ in range(3):
        spool._replace([line] * FLUSH_EVENTS)
        start = time.perf_counter()
        done = deliver(url, directory=spool.directory)
        samples.append(time.perf_counter() - start)
        assert done.sent == FLUSH_EVENTS and done.waiting == 0, done
    rate = FLUSH_EVENTS / min(samples)
    bench = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "rpush", "-n", "100000", "-q",
         "-d", str(len(line))], capture_output=True, text=True, check=True).stdout
    found = re.findall(r"RPUSH: ([\d.]+) requests per second", bench.replace("\r", "\n"))
    baseline = float(found[-1])
    return Result(f"events flush of {FLUSH_EVENTS} spooled events", rate, baseline, "ev/s",
                  "baseline: redis-benchmark -t rpush (50 clients, no pipelining), same server")


def benchmarks() -> list[Result]:
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        raise RuntimeError("redis-server and redis-benchmark are needed: apt-get install redis")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        proc, port = _start_redis(home)
        try:
            return [_marker_start(port, home), _flush(port, home)]
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    for row in benchmarks():
        print(f"{row.name}: {row.value:.2f} {row.unit} vs {row.baseline:.2f} {row.unit} "
              f"(ratio {row.ratio:.2f})")
