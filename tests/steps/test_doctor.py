"""deploytrail doctor: one row per configured backend, ✔/✘ with reason and fix, no secrets."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytrail.cli import main
from fakes.github import FakeGitHub
from fakes.gitrepo import GitRepo
from fakes.http import FakeAPI, Reply
from fakes.jira import FakeJira
from fakes.kibana import FakeKibana
from fakes.redis import RedisServer, free_port
from fakes.teamcity import FakeTeamCity

JIRA_TOKEN = "pat-doctor-token-321"
GITHUB_TOKEN = "ghp_doctor_token_246"
KIBANA_KEY = "kibana-doctor-key-135"
TC_TOKEN = "tc-doctor-token-864"


@pytest.fixture
def repo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    git_repo.commit("PAY-1: first")
    monkeypatch.chdir(git_repo.path)
    return git_repo


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJira]:
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_TOKEN", JIRA_TOKEN)
    with FakeJira(token=JIRA_TOKEN) as fake:
        yield fake


def _doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["doctor", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_embedded_defaults_all_pass(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _doctor(capsys)
    assert code == 0
    assert "✔ git ." in out and "✔ ledger" in out and "✔ chat console" in out
    assert "checks passed" in out


def test_every_real_backend_is_checked_and_no_secret_is_printed(
    repo: GitRepo, jira: FakeJira, redis_db: RedisServer, fake_api: FakeAPI,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    github = FakeGitHub(fake_api, token=GITHUB_TOKEN)
    github.load_git("acme/api", repo.path)
    kibana = FakeKibana(fake_api, api_key=KIBANA_KEY)
    teamcity = FakeTeamCity.shared("doctor", token=TC_TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_KIBANA_API_KEY", KIBANA_KEY)
    monkeypatch.setenv("DEPLOYTRAIL_PROD_TEAMCITY_TOKEN", TC_TOKEN)
    code, out = _doctor(
        capsys, "--source", "github:acme/api", "--github-url", github.url,
        "--tickets", f"jira+{jira.url}/CHG", "--issue-type", "Change",
        "--events", redis_db.url + "?key=deploytrail",
        "--chat", f"json://127.0.0.1:{free_port()}/hook?token=chatsecret99",
        "--kibana-url", kibana.url, "--prod-teamcity-url", teamcity.api.url,
    )
    assert code == 0, out
    for name in ("GitHub acme/api", "JIRA", "events redis://", "chat json://", "Kibana",
                 "TeamCity prod"):
        assert f"✔ {name}" in out, out
    for secret in (JIRA_TOKEN, GITHUB_TOKEN, KIBANA_KEY, TC_TOKEN, "chatsecret99"):
        assert secret not in out


def test_a_missing_jira_project_fails_with_a_fix(
    repo: GitRepo, jira: FakeJira, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _doctor(capsys, "--tickets", f"jira+{jira.url}/NOPE")
    assert code == 1
    assert "✘ JIRA" in out and "NOPE" in out and "→" in out


def test_an_unknown_issue_type_fails(repo: GitRepo, jira: FakeJira,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _doctor(capsys, "--tickets", f"jira+{jira.url}/CHG", "--issue-type", "Saga")
    assert code == 1 and "Saga" in out


def test_redis_down_is_reported_but_not_required(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _doctor(capsys, "--events", f"redis://127.0.0.1:{free_port()}/0")
    assert code == 0
    assert "! events redis://" in out and "events flush" in out


def test_a_wrong_redis_password_is_reported_without_the_password(
    repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = RedisServer(tmp_path / "redis-pw", password="right-pass-777").start()
    try:
        code, out = _doctor(capsys, "--events",
                            f"redis://:wrong-pass-555@127.0.0.1:{server.port}/0")
    finally:
        server.stop()
    assert "! events" in out and "password" in out
    assert "wrong-pass-555" not in out and code == 0


def test_a_malformed_chat_url_is_a_row_not_a_crash(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _doctor(capsys, "--chat", "slack://not-enough")
    assert "! chat" in out and code == 0


def test_teamcity_with_a_wrong_token_fails(repo: GitRepo, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    teamcity = FakeTeamCity.shared("doctor", token=TC_TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN", "wrong-tc-token-000")
    code, out = _doctor(capsys, "--nonprod-teamcity-url", teamcity.api.url)
    assert code == 1 and "✘ TeamCity non-prod" in out
    assert "wrong-tc-token-000" not in out


def test_teamcity_without_a_token_says_which_variable_to_set(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _doctor(capsys, "--prod-teamcity-url", "http://127.0.0.1:1")
    assert code == 1 and "DEPLOYTRAIL_PROD_TEAMCITY_TOKEN" in out


def test_a_folder_that_is_not_a_repository_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = _doctor(capsys)
    assert code == 1 and "✘ git ." in out and "not a git repository" in out


def test_doctor_runs_as_a_process_with_the_same_table(repo: GitRepo) -> None:
    done = subprocess.run([sys.executable, "-m", "deploytrail", "doctor"], cwd=repo.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "✔ ledger" in done.stdout


def test_github_that_cannot_be_reached_fails(repo: GitRepo,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _doctor(capsys, "--source", "github:acme/api",
                        "--github-url", f"http://127.0.0.1:{free_port()}")
    assert code == 1 and "✘ GitHub acme/api" in out, out


def test_github_with_a_wrong_token_fails_without_showing_it(
    repo: GitRepo, fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    github = FakeGitHub(fake_api, token=GITHUB_TOKEN)
    github.load_git("acme/api", repo.path)
    monkeypatch.setenv("DEPLOYTRAIL_GITHUB_TOKEN", "ghp_wrong_token_000")
    code, out = _doctor(capsys, "--source", "github:acme/api", "--github-url", github.url)
    assert code == 1 and "✘ GitHub acme/api" in out, out
    assert "ghp_wrong_token_000" not in out


def test_github_shows_the_scopes_of_a_classic_token(
    repo: GitRepo, fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GitHub names a classic token's scopes in X-OAuth-Scopes on every answer.
    fake_api.route("GET", "/api/v3/repos/acme/api", lambda request: Reply.json(
        {"id": 1, "name": "api", "full_name": "acme/api", "private": True},
        headers={"X-OAuth-Scopes": "repo, read:org"}))
    monkeypatch.setenv("DEPLOYTRAIL_GITHUB_TOKEN", GITHUB_TOKEN)
    code, out = _doctor(capsys, "--source", "github:acme/api",
                        "--github-url", fake_api.url + "/api/v3")
    assert code == 0, out
    assert "✔ GitHub acme/api" in out and "token scopes: repo, read:org" in out
    assert [r.path for r in fake_api.received()] == ["/api/v3/repos/acme/api"]
    assert GITHUB_TOKEN not in out


def test_logstash_port_open_and_closed(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        code, out = _doctor(capsys, "--events", f"logstash+tcp://127.0.0.1:{port}")
        assert code == 0 and "✔ events logstash+tcp://" in out and "port open" in out, out
    code, out = _doctor(capsys, "--events", f"logstash+tcp://127.0.0.1:{free_port()}")
    assert code == 0 and "! events logstash+tcp://" in out and "port closed" in out, out


def test_kibana_that_cannot_be_reached_is_reported_but_not_required(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _doctor(capsys, "--kibana-url", f"http://127.0.0.1:{free_port()}")
    assert code == 0 and "! Kibana" in out and "DEPLOYTRAIL_KIBANA_API_KEY" in out, out
