"""Real git repositories with a chosen history, in a temp folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["GitRepo"]

_ENV = {
    "GIT_AUTHOR_NAME": "Alice Example",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice Example",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo:
    """A real repository: ``commit()`` adds commits, ``git()`` runs anything else."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self._counter = 0
        self._clock = 1_767_000_000  # fixed dates: reproducible shas
        self.git("init", "-q", "-b", "main")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        full_env = {**os.environ, **_ENV, "HOME": str(self.path), **(env or {})}
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=full_env, check=True,
            capture_output=True,
        )
        return done.stdout.decode("utf-8", "replace").strip()

    def commit(
        self,
        message: str | bytes = "",
        *,
        author: str = "Alice Example <alice@example.com>",
        file: str = "app.txt",
    ) -> str:
        """Add one commit (changing ``file``) and return its full sha."""
        self._counter += 1
        self._clock += 60
        target = self.path / file
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(f"change {self._counter}\n")
        self.git("add", "-A")
        msg_file = self.path.parent / f".msg-{self.path.name}"
        msg_file.write_bytes(message if isinstance(message, bytes) else message.encode())
        name, _, email = author.partition(" <")
        date = f"@{self._clock} +0000"
        self.git(
            "-c", "i18n.commitEncoding=utf-8", "commit", "-q", "--allow-empty-message",
            "--cleanup=verbatim", "-F", str(msg_file),
            env={"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">"),
                 "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
        )
        return self.head()

    def commits(self, count: int, prefix: str = "Change") -> list[str]:
        """Add ``count`` commits quickly (one ``git fast-import``) and return their shas."""
        if count <= 20:
            return [self.commit(f"{prefix} {i + 1}") for i in range(count)]
        parent = self.head() if self.has_commits() else None
        lines: list[bytes] = []
        for i in range(count):
            self._clock += 60
            msg = f"{prefix} {i + 1}\n".encode()
            lines.append(b"commit refs/heads/main\n")
            lines.append(f"mark :{i + 1}\n".encode())
            lines.append(f"author Alice Example <alice@example.com> {self._clock} +0000\n".encode())
            lines.append(
                f"committer Alice Example <alice@example.com> {self._clock} +0000\n".encode()
            )
            lines.append(f"data {len(msg)}\n".encode() + msg)
            if i == 0 and parent:
                lines.append(f"from {parent}\n".encode())
            blob = f"change {i}\n".encode()
            lines.append(f"M 644 inline bulk.txt\ndata {len(blob)}\n".encode() + blob + b"\n")
        subprocess.run(
            ["git", "fast-import", "--quiet"], cwd=self.path, input=b"".join(lines), check=True,
            env={**os.environ, **_ENV},
        )
        self.git("reset", "-q", "--hard", "main")
        return self.git("rev-list", "--reverse", f"-{count}", "HEAD").split()

    def has_commits(self) -> bool:
        return subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=self.path,
            capture_output=True,
        ).returncode == 0

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("checkout", "-q", "-b", name, start)

    def checkout(self, ref: str) -> None:
        self.git("checkout", "-q", ref)

    def merge(self, branch: str, message: str) -> str:
        self._clock += 60
        date = f"@{self._clock} +0000"
        self.git("merge", "-q", "--no-ff", "-m", message, branch,
                 env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        return self.head()
