"""Changelog: 10 000 local commits beside plain ``git log``; GitHub requests beside the minimum."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, Result, time_call

COMMITS = 10_000
GITHUB_COMMITS = 600
_ENV = {**os.environ, "GIT_AUTHOR_NAME": "Alice Example", "GIT_AUTHOR_EMAIL": "a@example.com",
        "GIT_COMMITTER_NAME": "Alice Example", "GIT_COMMITTER_EMAIL": "a@example.com",
        "GIT_CONFIG_NOSYSTEM": "1"}


def _make_repo(path: Path, count: int) -> list[str]:
    """``count`` commits with realistic messages (a summary, a body, issue keys), fast."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=_ENV)
    chunks: list[bytes] = []
    for i in range(count):
        msg = (f"PAY-{i % 997 + 1} Change number {i + 1} to the payment service\n\n"
               f"Longer explanation of change {i + 1}, touching OPS-{i % 13 + 1}.\n"
               "Reviewed-by: Bob Builder <bob@example.com>\n").encode()
        blob = f"line {i}\n".encode()
        when = 1_767_000_000 + 60 * i
        chunks.append(
            f"commit refs/heads/main\nmark :{i + 1}\n"
            f"author Alice Example <a@example.com> {when} +0000\n"
            f"committer Alice Example <a@example.com> {when} +0000\n".encode()
            + f"data {len(msg)}\n".encode() + msg
            + f"M 644 inline file{i % 50}.txt\ndata {len(blob)}\n".encode() + blob + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(chunks),
                   check=True, env=_ENV)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=path, check=True, env=_ENV)
    out = subprocess.run(["git", "rev-list", "--reverse", "HEAD"], cwd=path, check=True,
                         capture_output=True, text=True).stdout
    return out.split()


def _local(folder: Path) -> Result:
    from deploytrail.clients.gitlocal import LocalGit

    repo = folder / "local"
    shas = _make_repo(repo, COMMITS + 1)
    base, head = shas[0], shas[-1]
    git = LocalGit(repo)
    assert git.compare(base, head).total == COMMITS

    def plain_git_log() -> None:
        subprocess.run(["git", "log", f"{base}..{head}"], cwd=repo, capture_output=True,
                       check=True, env={**os.environ, "GIT_PAGER": "cat"})

    plain_git_log()  # warm the page cache for both
    # Interleaved, so a busy machine slows both alike.
    baseline_runs, value_runs = [], []
    for _ in range(9):
        baseline_runs.append(time_call(plain_git_log, runs=1))
        value_runs.append(time_call(lambda: git.compare(base, head), runs=1))
    baseline, value = statistics.median(baseline_runs), statistics.median(value_runs)
    return Result(
        f"changelog of {COMMITS} local commits", value * 1000, baseline * 1000, "ms",
        "LocalGit.compare (resolve, ahead/behind, git log, parse into commits with issue keys)"
        " beside plain 'git log BASE..HEAD' over the same range", limit=1.5)


def _github(folder: Path) -> Result:
    sys.path.insert(0, str(ROOT / "tests"))
    from deploytrail.clients.github import GitHubClient
    from fakes.github import FakeGitHub
    from fakes.http import FakeAPI

    shas = _make_repo(folder / "github", GITHUB_COMMITS + 1)
    with FakeAPI() as api:
        fake = FakeGitHub(api)
        fake.load_git("acme/api", folder / "github")
        changes = GitHubClient(api.url, None, retries=0).compare("acme/api", shas[0], shas[-1])
        assert changes.total == GITHUB_COMMITS, changes.total
        made = len(api.received())
    minimum = math.ceil(GITHUB_COMMITS / fake.max_per_page)
    return Result(
        f"HTTP requests for a {GITHUB_COMMITS}-commit GitHub changelog", made, minimum, "req",
        f"minimum: one compare page per {fake.max_per_page} commits (the documented per_page "
        "maximum); no repository fetch", limit=1.0)


def benchmarks() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="deploytrail-bench-") as tmp:
        return [_local(Path(tmp)), _github(Path(tmp))]


if __name__ == "__main__":
    for result in benchmarks():
        print(f"{result.name}: {result.value:.2f} {result.unit} vs {result.baseline:.2f} "
              f"{result.unit} = {result.ratio:.2f}x")
