"""Fixtures every test can use: clean environment, state dir, real Redis, real git, fake APIs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakes.chat import FakeChat
from fakes.gitrepo import GitRepo
from fakes.http import FakeAPI
from fakes.redis import RedisServer


@pytest.fixture(autouse=True)
def clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    """The host's DEPLOYTRAIL_*/TEAMCITY_* settings never leak in; state goes to a temp dir."""
    for name in list(os.environ):
        if name.startswith(("DEPLOYTRAIL_", "TEAMCITY_")) or name in {"BUILD_NUMBER", "REDIS_URL"}:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEPLOYTRAIL_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("DEPLOYTRAIL_RECORD", str(tmp_path / "release.json"))
    yield


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session, on a free port."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_db(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The session's Redis, emptied before the test (restarted if a test stopped it)."""
    if redis_server.process is None:
        redis_server.start()
    redis_server.client().flushall()
    yield redis_server
    if redis_server.process is None:
        redis_server.start()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, for tests that stop, restart or lock it."""
    server = RedisServer(tmp_path / "redis-own").start()
    yield server
    server.stop()


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """An empty real git repository; add history with ``commit()`` / ``commits(n)``."""
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def make_git_repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory: ``make_git_repo(n)`` gives a repository with n commits."""
    made = 0

    def make(commits: int = 0) -> GitRepo:
        nonlocal made
        made += 1
        repo = GitRepo(tmp_path / f"repo{made}")
        if commits:
            repo.commits(commits)
        return repo

    return make


@pytest.fixture
def fake_api() -> Iterator[FakeAPI]:
    """A started FakeAPI with no routes; add them with ``route()``."""
    with FakeAPI() as api:
        yield api


@pytest.fixture(scope="module")
def chat_server() -> Iterator[FakeChat]:
    """One local chat service per test module (stopping one costs time)."""
    with FakeChat() as server:
        yield server


@pytest.fixture
def chat(chat_server: FakeChat) -> FakeChat:
    """The module's chat service, with no messages or refusals from earlier tests."""
    chat_server.reset()
    return chat_server
