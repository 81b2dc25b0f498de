"""deploytrail changelog: the CLI step and collect_changelog, end to end on real repositories."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from deploytrail import record as records
from deploytrail.cli import main
from deploytrail.clients.ledger import Ledger
from deploytrail.deployment_info import make_app
from deploytrail.record import ReleaseRecord
from deploytrail.steps.changelog import collect_changelog
from fakes.github import FakeGitHub
from fakes.gitrepo import GitRepo
from fakes.http import FakeAPI

HOSTILE = [
    "PAY-1 {{ 7*7 }} {% raw %} [click](http://evil) <img src=x onerror=alert(1)> @channel",
    "##teamcity[buildStop comment='x'] *bold* _it_ # heading | table |",
    "",
]


@pytest.fixture
def repo(git_repo: GitRepo) -> tuple[GitRepo, str, str]:
    previous = git_repo.commit("released before")
    for message in HOSTILE:
        git_repo.commit(message)
    head = git_repo.commit("OPS-9 last change")
    return git_repo, previous, head


def changelog(*args: str) -> int:
    return main(["changelog", "--service", "api", "--env", "production", *args])


def test_json_output_has_exactly_the_documented_keys(
    repo: tuple[GitRepo, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    git, previous, head = repo
    assert changelog("--revision", head, "--previous", f"sha:{previous}",
                     "--source", f"git:{git.path}", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["service", "environment", "previous_revision", "revision", "status",
                          "total", "commits"]
    assert (data["service"], data["environment"], data["status"], data["total"]) == (
        "api", "production", "ahead", 4)
    assert (data["previous_revision"], data["revision"]) == (previous, head)
    assert set(data["commits"][0]) == {"sha", "summary", "message", "author", "authored_at",
                                       "url", "issue_keys", "is_merge"}
    assert data["commits"][0]["issue_keys"] == ["OPS-9"]


def test_the_record_gets_the_changelog(repo: tuple[GitRepo, str, str]) -> None:
    git, previous, head = repo
    assert changelog("--revision", head[:10], "--previous", f"sha:{previous[:8]}",
                     "--source", f"git:{git.path}") == 0
    saved = records.load()
    assert (saved.service, saved.environment, saved.revision) == ("api", "production", head)
    assert (saved.previous_revision, saved.changelog_status) == (previous, "ahead")
    assert [c["summary"] for c in saved.commits][-1] == HOSTILE[0]
    assert saved.commit_count == 4 and saved.compare_url is None


def test_markdown_escapes_commit_text(repo: tuple[GitRepo, str, str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    git, previous, head = repo
    changelog("--revision", head, "--previous", f"sha:{previous}", "--source",
              f"git:{git.path}", "--format", "markdown")
    out = capsys.readouterr().out
    assert "<img" not in out and "&lt;img" in out
    assert "[click](http" not in out and "\\[click\\]\\(http" in out
    assert "\\*bold\\*" in out and "\\_it\\_" in out and "\\@channel" in out
    assert "\\# heading \\| table \\|" in out
    assert "*\\(no message\\)*" in out


def test_a_rollback_is_said_plainly(repo: tuple[GitRepo, str, str],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    git, previous, head = repo
    assert changelog("--revision", previous, "--previous", f"sha:{head}",
                     "--source", f"git:{git.path}") == 0
    captured = capsys.readouterr()
    assert "ROLLBACK" in captured.out and "4 commit(s) behind" in captured.out
    assert "warning: " in captured.err
    assert records.load().changelog_status == "behind"


def test_identical_is_said_plainly(repo: tuple[GitRepo, str, str],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    git, _, head = repo
    changelog("--revision", head, "--previous", f"sha:{head}", "--source", f"git:{git.path}")
    assert "no new commits" in capsys.readouterr().out


def test_previous_from_the_ledger(repo: tuple[GitRepo, str, str]) -> None:
    git, previous, head = repo
    Ledger().record_deployment(ReleaseRecord(service="api", environment="production",
                                             revision=previous, outcome="success",
                                             finished_at="2026-01-01T00:00:00Z"))
    Ledger().record_deployment(ReleaseRecord(service="api", environment="staging",
                                             revision=head, outcome="success"))
    assert changelog("--revision", head, "--source", f"git:{git.path}") == 0
    saved = records.load()
    assert (saved.previous_revision, saved.commit_count) == (previous, 4)


def test_no_previous_release_lists_the_newest_50_and_says_so(
    make_git_repo,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    git: GitRepo = make_git_repo(80)
    assert changelog("--revision", "HEAD", "--source", f"git:{git.path}") == 0
    assert "first recorded release" in capsys.readouterr().out
    saved = records.load()
    assert (saved.changelog_status, saved.changelog_truncated, saved.commit_count) == (
        "first", True, 50)


def test_previous_from_the_deployment_info_endpoint(
    repo: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    git, previous, head = repo
    info = tmp_path / "info.json"
    assert main(["info", "write", "--revision", previous, "--version", "1.4.1",
                 "--out", str(info)]) == 0

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = make_server("127.0.0.1", 0, make_app(info), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/deployment-info"
        assert changelog("--revision", head, "--previous", f"info:{url}",
                         "--source", f"git:{git.path}") == 0
    finally:
        server.shutdown()
        server.server_close()
    assert records.load().previous_revision == previous


@pytest.fixture
def github(git_repo: GitRepo) -> Iterator[tuple[FakeGitHub, list[str]]]:
    shas = git_repo.commits(300)
    with FakeAPI() as api:
        fake = FakeGitHub(api, token="ghp_secret_token_value")
        fake.load_git("acme/api", git_repo.path)
        yield fake, shas


def test_github_source_with_the_token_from_the_environment(
    github: tuple[FakeGitHub, list[str]], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, shas = github
    monkeypatch.setenv("DEPLOYTRAIL_GITHUB_TOKEN", "ghp_secret_token_value")
    assert changelog("--revision", shas[-1], "--previous", f"sha:{shas[0]}",
                     "--source", "github:acme/api", "--github-url", fake.api.url,
                     "--format", "markdown") == 0
    out = capsys.readouterr().out
    saved = records.load()
    assert saved.commit_count == 299 and saved.compare_url
    assert f"({fake.web_url}/acme/api/commit/{shas[-1]})" in out
    assert "ghp_secret" not in Path(records.record_path()).read_text()


def test_under_teamcity_the_count_is_a_parameter_status_and_artifact(
    repo: tuple[GitRepo, str, str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    git, previous, head = repo
    monkeypatch.setenv("TEAMCITY_VERSION", "2025.03")
    assert changelog("--revision", head, "--previous", f"sha:{previous}",
                     "--source", f"git:{git.path}") == 0
    out = re.sub(r" timestamp='[^']*'", "", capsys.readouterr().out)
    assert "##teamcity[setParameter name='deploytrail.commit_count' value='4']" in out
    assert "##teamcity[buildStatus text='{build.status.text}; 4 commits']" in out
    artifact = records.record_path().parent / "changelog.md"
    assert f"##teamcity[publishArtifacts '{artifact}']" in out
    assert "OPS-9 last change" in artifact.read_text()
    # a commit message cannot start a service message of its own
    lines = [line for line in out.splitlines() if "buildStop" in line]
    assert lines and all(not line.startswith("##teamcity[buildStop") for line in lines)
    assert all("|[buildStop" in line for line in lines)


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [("--previous", "yesterday", "ledger, info:URL"),
     ("--source", "svn:trunk", "git:PATH or github:OWNER/REPO"),
     ("--format", "yaml", "not one of")],
)
def test_bad_options_are_input_errors(option: str, value: str, problem: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert changelog("--revision", "abc1234", option, value) == 2
    assert problem in capsys.readouterr().err


def test_an_unknown_revision_exits_2_naming_it(repo: tuple[GitRepo, str, str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    git, previous, _ = repo
    assert changelog("--revision", "feedfacefeedface", "--previous", f"sha:{previous}",
                     "--source", f"git:{git.path}") == 2
    assert "'feedfacefeedface' is not a commit" in capsys.readouterr().err


def test_collect_changelog_fills_the_given_record_in_process(
    repo: tuple[GitRepo, str, str],
) -> None:
    git, previous, head = repo
    record = ReleaseRecord(service="api", environment="production", revision=head)
    collect_changelog(record, source=f"git:{git.path}", previous=f"sha:{previous}")
    assert (record.changelog_status, record.commit_count, record.previous_revision) == (
        "ahead", 4, previous)
    assert not records.record_path().exists()  # in-process: the caller saves the record


def test_json_format_under_teamcity_prints_parseable_json(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = git_repo.commit("PAY-1: base")
    head = git_repo.commit("PAY-2: ##teamcity[buildStop comment='x'] it's done")
    monkeypatch.setenv("TEAMCITY_VERSION", "2025.03")
    code = main(["changelog", "--service", "api", "--env", "production", "--revision", head,
                 "--previous", f"sha:{base}", "--source", f"git:{git_repo.path}",
                 "--format", "json"])
    assert code == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")]
    (data,) = [json.loads(ln) for ln in lines]
    assert data["total"] == 1 and "##teamcity[buildStop" in data["commits"][0]["message"]
