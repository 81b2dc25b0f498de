"""Overhead of ``deploytrail release -- true`` on embedded defaults over running ``true`` itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from common import PYTHON, Result, time_command


def _repo(path: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@x"}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    for n in range(20):
        (path / "f.txt").write_text(f"{n}\n")
        subprocess.run(["git", "add", "-A"], cwd=path, check=True)
        subprocess.run(["git", "commit", "-qm", f"PAY-{n}: change {n}"], cwd=path, check=True,
                       env=env)


def benchmarks() -> list[Result]:
    work = Path(tempfile.mkdtemp(prefix="deploytrail-bench-"))
    try:
        repo = work / "repo"
        repo.mkdir()
        _repo(repo)
        env = {**os.environ, "DEPLOYTRAIL_HOME": str(work / "state"),
               "DEPLOYTRAIL_RECORD": str(work / "release.json")}
        argv = [PYTHON, "-m", "deploytrail", "release", "--service", "bench", "--env", "prod",
                "--", "true"]
        baseline = time_command(["true"], runs=15, cwd=repo)
        value = time_command(argv, runs=15, env=env, cwd=repo)
        timings = json.loads((work / "release.json").read_text())["notes"]["timings_ms"]
        total_steps = sum(timings.values())
        shares = ", ".join(f"{name} {ms:.1f} ms" for name, ms in timings.items())
        rows = [Result("deploytrail release -- true (embedded)", value * 1000, baseline * 1000,
                       "ms", "baseline: running `true` itself; whole process incl. Python start")]
        rows.append(Result("  of which the steps (in-process)", total_steps, value * 1000, "ms",
                           f"share of the whole run; {shares}"))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)
