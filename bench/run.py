"""``make bench``: every figure beside its baseline, measured in the same run, as a ratio."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Result

MODULES = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))


def main() -> int:
    # Measure deploytrail as pip installs it: with its modules compiled to bytecode (the standard
    # library the baselines use is too). PYTHONDONTWRITEBYTECODE would make every run recompile.
    import compileall
    import os

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "src"), quiet=1)
    rows: list[Result] = []
    failed = []
    for name in MODULES:
        print(f"running {name} …", file=sys.stderr, flush=True)
        try:
            rows.extend(importlib.import_module(name).benchmarks())
        except Exception:
            traceback.print_exc()
            failed.append(name)
    width = max((len(r.name) for r in rows), default=10)
    print(f"\n{'benchmark':<{width}}  {'value':>12}  {'baseline':>12}  {'ratio':>7}  limit")
    for r in rows:
        limit = "" if r.limit is None else (
            f"≤ {r.limit:g}  {'ok' if r.ratio <= r.limit else 'OVER'}")
        print(f"{r.name:<{width}}  {r.value:>10.2f} {r.unit:<2}  {r.baseline:>9.2f} {r.unit:<2}"
              f"  {r.ratio:>6.2f}×  {limit}")
        if r.note:
            print(f"{'':<{width}}    ({r.note})")
    if failed:
        print(f"\nbenchmarks that crashed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
