"""Shared pieces of the benchmarks: a result row and a wall-clock timer for whole commands."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Result:
    """One figure beside its baseline, measured in the same run."""

    name: str
    value: float
    baseline: float
    unit: str
    note: str = ""
    #: The figure the issue asks for, as a ratio limit (value / baseline), if any.
    limit: float | None = None

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")


def time_command(argv: Sequence[str], *, runs: int = 15, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> float:
    """Median wall-clock seconds of running ``argv`` (output discarded)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                       env=env, cwd=cwd)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def time_call(func: Callable[[], object], *, runs: int = 5) -> float:
    """Median seconds of calling ``func``."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
