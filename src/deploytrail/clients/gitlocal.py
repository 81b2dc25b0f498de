"""Commits from a local git repository, read with one ``git log`` (NUL-separated, no pager)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from deploytrail.commits import Changes, Commit, Status
from deploytrail.errors import InputError, ServiceUnavailable

__all__ = ["FIRST_RELEASE_LIMIT", "LocalGit"]

#: With no previous release, only this many of the newest commits are listed.
FIRST_RELEASE_LIMIT = 50

# sha, parents, author, author date, raw body; ``-z`` ends each commit with a NUL too.
_FORMAT = "--format=%H%x00%P%x00%an%x00%aI%x00%B"
_FIELDS = 5


class LocalGit:
    """A repository on disk (the build agent's checkout)."""

    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        self.path = Path(path)

    def _git(self, *args: str, check_revision: Sequence[str] = ()) -> bytes:
        env = {**os.environ, "GIT_PAGER": "cat", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
        try:
            done = subprocess.run(
                ["git", "-c", "log.showSignature=false", *args],
                cwd=self.path, env=env, capture_output=True, check=False,
            )
        except FileNotFoundError as exc:
            if not self.path.is_dir():
                raise InputError(
                    f"git source {self.path} is not a folder",
                    hint="give --source git:PATH with the path of the checked-out repository",
                ) from exc
            raise ServiceUnavailable(
                "git", "the git command is not installed on this machine",
                hint="install git on the build agent, or use --source github:OWNER/REPO",
            ) from exc
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip()
            if "not a git repository" in said:
                raise InputError(
                    f"{self.path.resolve()} is not a git repository",
                    hint="give --source git:PATH pointing at the checkout of the service",
                )
            if check_revision:
                raise InputError(
                    f"revision {' or '.join(map(repr, check_revision))} is not a commit in "
                    f"{self.path.resolve()}",
                    hint="check the sha; in a shallow TeamCity checkout fetch the full history "
                    "(VCS root: 'Clone mode: full' / git fetch --unshallow)",
                )
            raise InputError(f"git {args[0]} failed in {self.path.resolve()}: {said}")
        return done.stdout

    def resolve(self, revision: str) -> str:
        """The full sha of ``revision`` (a sha, tag or branch); a clear error if unknown."""
        self._check_shape(revision)
        out = self._git("rev-parse", "--verify", f"{revision}^{{commit}}",
                        check_revision=(revision,))
        return out.decode().strip()

    def compare(self, previous: str, revision: str) -> Changes:
        """Commits in ``revision`` that are not in ``previous``, and how the two relate."""
        for rev in (previous, revision):
            self._check_shape(rev)
        try:  # one call for both; on failure, find out which one is wrong
            out = self._git("rev-parse", f"{previous}^{{commit}}", f"{revision}^{{commit}}",
                            check_revision=(previous, revision))
            base, head = out.decode().split()
        except InputError:
            base, head = self.resolve(previous), self.resolve(revision)
        # One walk of the symmetric difference: %m marks each commit ">" (only in the new
        # revision: goes out) or "<" (only in the previous release: taken back).
        commits, behind_by = self._stream_log(
            "--format=%m" + _FORMAT[len("--format="):], f"{base}...{head}", marked=True)
        ahead_by = len(commits)
        status: Status
        if ahead_by and behind_by:
            status = "diverged"
        elif ahead_by:
            status = "ahead"
        elif behind_by:
            status = "behind"
        else:
            status = "identical"
        return Changes(status, base, head, commits, ahead_by=ahead_by, behind_by=behind_by)

    def first(self, revision: str, limit: int = FIRST_RELEASE_LIMIT) -> Changes:
        """No previous release: the newest ``limit`` commits up to ``revision``."""
        head = self.resolve(revision)
        commits = self.log(head, limit=limit + 1)
        truncated = len(commits) > limit
        return Changes("first", None, head, commits[:limit], ahead_by=len(commits[:limit]),
                       truncated=truncated)

    def _stream_log(self, fmt: str, range_: str, *, marked: bool = False,
                    limit: int | None = None) -> tuple[list[Commit], int]:
        """Run ``git log -z`` and parse its output while git is still writing it."""
        args = ["git", "-c", "log.showSignature=false", "log", "-z", fmt, "--no-color",
                "--no-decorate", "--no-mailmap"]
        if limit is not None:
            args.append(f"--max-count={limit}")
        env = {**os.environ, "GIT_PAGER": "cat", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
        commits: list[Commit] = []
        skipped = 0
        with tempfile.TemporaryFile() as errors, subprocess.Popen(
            [*args, range_, "--"], cwd=self.path, env=env, stdout=subprocess.PIPE,
            stderr=errors,
        ) as proc:
            assert proc.stdout is not None
            out = proc.stdout.fileno()
            tail = b""
            fields: list[str] = []
            while chunk := os.read(out, 1 << 16):
                data = tail + chunk
                cut = data.rfind(b"\0")
                if cut < 0:
                    tail = data
                    continue
                tail = data[cut + 1 :]
                # A NUL never sits inside a UTF-8 sequence: decoding up to one is safe.
                fields.extend(data[:cut].decode("utf-8", "replace").split("\0"))
                complete = len(fields) // _FIELDS * _FIELDS
                found, behind = _parse_fields(fields[:complete], marked=marked)
                commits.extend(found)
                skipped += behind
                del fields[:complete]
            if proc.wait() != 0:
                errors.seek(0)
                said = errors.read().decode("utf-8", "replace").strip()
                raise InputError(f"git log {range_} failed in {self.path.resolve()}: {said}")
        if tail:
            fields.append(tail.decode("utf-8", "replace"))
        found, behind = _parse_fields(fields, marked=marked)
        return commits + found, skipped + behind

    def log(self, range_: str, *, limit: int | None = None) -> list[Commit]:
        """``git log RANGE`` as commits, newest first."""
        return self._stream_log(_FORMAT, range_, limit=limit)[0]

    @staticmethod
    def _check_shape(revision: str) -> None:
        if not revision or revision.startswith("-") or any(c.isspace() for c in revision):
            raise InputError(
                f"{revision!r} is not a revision",
                hint="give a commit sha (7-40 hex characters), a tag or a branch name",
            )


def _parse_fields(fields: list[str], *, marked: bool) -> tuple[list[Commit], int]:
    """Commits from ``git log -z`` fields; with ``marked``, skip (and count) "<" commits."""
    commits = []
    skipped = 0
    make = Commit.from_message
    for i in range(0, len(fields) - _FIELDS + 1, _FIELDS):
        sha, parents, author, date, body = fields[i : i + _FIELDS]
        sha = sha.lstrip("\n")
        if marked:
            if sha[:1] == "<":
                skipped += 1
                continue
            sha = sha[1:]
        commits.append(make(sha, body, author=author, authored_at=date,
                            is_merge=" " in parents))
    return commits, skipped
