"""Start-up: ``python -m deploytrail --help`` beside a bare argparse program printing its help."""

from __future__ import annotations

from common import PYTHON, Result, time_command


def benchmarks() -> list[Result]:
    baseline = time_command(
        [PYTHON, "-c", "import argparse; argparse.ArgumentParser(prog='x').print_help()"],
        runs=25,
    )
    value = time_command([PYTHON, "-m", "deploytrail", "--help"], runs=25)
    return [
        Result("python -m deploytrail --help", value * 1000, baseline * 1000, "ms",
               "baseline: minimal argparse program printing its help", limit=1.5),
    ]
