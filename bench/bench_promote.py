"""Promotion: a whole ``deploytrail promote`` (choose, pin, tag, queue) against local fake TeamCity
servers beside a bare requests script making the same four calls, and the number of requests
each promotion makes beside that minimum."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
from common import PYTHON, ROOT, Result, time_call, time_command

sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from fakes.teamcity import FakeTeamCity

TOKEN = "bench-token"


def _bare_promotion(nonprod: str, prod: str) -> None:
    """What a hand-written script does: newest build, pin, tag, queue. No checks, no retries."""
    with requests.Session() as s:
        s.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
        builds = s.get(f"{nonprod}/app/rest/builds", params={
            "locator": "buildType:(id:Api_Build),count:1",
            "fields": "build(id,number,revisions(revision(version)))"}, timeout=10).json()
        build = builds["build"][0]
        s.cookies.clear()
        s.put(f"{nonprod}/app/rest/builds/id:{build['id']}/pinInfo",
              json={"status": True, "comment": {"text": "bench"}}, timeout=10)
        s.cookies.clear()
        s.post(f"{nonprod}/app/rest/builds/id:{build['id']}/tags",
               json={"tag": [{"name": "deploytrail-promoted"}]}, timeout=10)
        s.cookies.clear()
        s.post(f"{prod}/app/rest/buildQueue", json={"buildType": {"id": "Api_DeployProd"}},
               timeout=10)


def benchmarks() -> list[Result]:
    nonprod = FakeTeamCity(TOKEN).start()
    prod = FakeTeamCity(TOKEN).start()
    try:
        for _ in range(30):
            nonprod.add_build("Api_Build", tests=(200, 0, 0))
        prod.add_build_type("Api_DeployProd")
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "DEPLOYTRAIL_HOME": home,
                   "DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN": TOKEN,
                   "DEPLOYTRAIL_PROD_TEAMCITY_TOKEN": TOKEN}
            env.pop("TEAMCITY_VERSION", None)
            subprocess.run([PYTHON, "-m", "deploytrail", "alias", "add", "api",
                            "--pin-build-type", "Api_Build", "--deploy-build-type",
                            "Api_DeployProd", "--nonprod-url", nonprod.url, "--prod-url",
                            prod.url], env=env, check=True, capture_output=True)
            before = len(nonprod.received()) + len(prod.received())
            ours = time_command([PYTHON, "-m", "deploytrail", "promote", "api", "--as", "bench"],
                                runs=9, env=env, cwd=Path(home))
            per_run = (len(nonprod.received()) + len(prod.received()) - before) / 9
            paths = [str(ROOT / "bench"), str(ROOT / "tests")]
            bare_script = (f"import sys; sys.path[:0] = {paths!r}; import bench_promote as b; "
                           f"b._bare_promotion({nonprod.url!r}, {prod.url!r})")
            bare = time_command([PYTHON, "-c", bare_script], runs=9, env=env)
            in_process = time_call(lambda: _bare_promotion(nonprod.url, prod.url), runs=9)
    finally:
        nonprod.stop()
        prod.stop()
    return [
        Result("promote: whole command, local fake TeamCity", ours, bare, "s",
               "baseline: a bare requests script making the same 4 calls (new process each)"),
        Result("promote: requests per promotion", per_run, 4.0, "requests",
               "baseline: list, pin, tag, queue; no access or test checks"),
        Result("promote: bare 4 calls in-process (network floor)", in_process, in_process, "s",
               "for scale: what the HTTP round trips alone cost here"),
    ]


if __name__ == "__main__":
    for row in benchmarks():
        print(f"{row.name}: {row.value:.4f} {row.unit} vs {row.baseline:.4f} "
              f"(x{row.ratio:.2f}) {row.note}")
