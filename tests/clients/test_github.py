"""GitHub compare through the real PyGithub, against a local fake GitHub with real pagination."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from deploytrail.clients.github import GitHubClient, api_url
from deploytrail.errors import ConfigError, InputError, ServiceError, ServiceUnavailable
from fakes.github import FakeGitHub
from fakes.gitrepo import GitRepo
from fakes.http import FakeAPI

REPO = "acme/api"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, list[str]]:
    """601 commits on main, then a side branch with a merge: shas[0] is the old release."""
    repo = GitRepo(tmp_path_factory.mktemp("gh") / "repo")
    shas = repo.commits(601)
    repo.branch("feature")
    repo.commit("PAY-1 feature", file="f.txt")
    repo.checkout("main")
    repo.commit("main side", file="m.txt")
    repo.merge("feature", "Merge pull request #1 from acme/feature")
    return repo, shas


@pytest.fixture(scope="module")
def served(history: tuple[GitRepo, list[str]]) -> Iterator[FakeGitHub]:
    """One server for the module (stopping a server costs half a second)."""
    with FakeAPI() as api:
        fake = FakeGitHub(api)
        fake.load_git(REPO, history[0].path)
        yield fake


@pytest.fixture
def github(served: FakeGitHub) -> FakeGitHub:
    """The module's fake, with no requests, failures, rate limits or token left from before."""
    served.api.requests.clear()
    served.api.fail_next(0)
    served.api._failures.clear()
    served._limits.clear()
    served.token = None
    return served


def client(fake: FakeGitHub, **options: object) -> GitHubClient:
    settings: dict[str, object] = {"retries": 2, "backoff": 0.01, "max_wait": 2.0}
    settings.update(options)
    return GitHubClient(fake.api.url, None, **settings)  # type: ignore[arg-type]


def test_600_commits_give_600_not_250(github: FakeGitHub,
                                      history: tuple[GitRepo, list[str]]) -> None:
    _, shas = history
    changes = client(github).compare(REPO, shas[0], shas[600])
    assert (changes.status, changes.total, changes.ahead_by) == ("ahead", 600, 600)
    assert [c.sha for c in changes.commits] == shas[1:][::-1]
    assert changes.commits[0].summary == "Change 601"


def test_every_page_is_read_with_the_fewest_requests(github: FakeGitHub,
                                                     history: tuple[GitRepo, list[str]]) -> None:
    _, shas = history
    client(github).compare(REPO, shas[0], shas[600])
    asked = github.api.received("GET")
    assert [r.arg("page") for r in asked] == ["1", "2", "3", "4", "5", "6"]
    assert {r.arg("per_page") for r in asked} == {"100"}
    assert all("/compare/" in r.path for r in asked)  # the repository is not fetched first


def test_the_api_without_paging_lists_only_250_as_github_does(
    github: FakeGitHub, history: tuple[GitRepo, list[str]]
) -> None:
    _, shas = history
    answer = requests.get(f"{github.url}/repos/{REPO}/compare/{shas[0]}...{shas[600]}",
                          timeout=5).json()
    assert answer["total_commits"] == 600 and len(answer["commits"]) == 250
    assert answer["commits"][-1]["sha"] == shas[600]


def test_pygithub_default_page_size_still_reads_everything(
    github: FakeGitHub, history: tuple[GitRepo, list[str]]
) -> None:
    _, shas = history
    from github import Github

    repo = Github(base_url=github.url, retry=None, seconds_between_requests=None,
                  lazy=True).get_repo(REPO)
    assert len(list(repo.compare(shas[0], shas[600]).commits)) == 600


def test_merges_are_marked_and_links_and_keys_filled(github: FakeGitHub,
                                                     history: tuple[GitRepo, list[str]]) -> None:
    repo, shas = history
    changes = client(github).compare(REPO, shas[600], "main")
    assert changes.total == 3
    merge, *rest = changes.commits
    assert merge.is_merge and merge.summary == "Merge pull request #1 from acme/feature"
    assert not any(c.is_merge for c in rest)
    assert changes.revision == repo.head()
    feature = next(c for c in rest if c.summary == "PAY-1 feature")
    assert feature.issue_keys == ["PAY-1"]
    assert feature.url == f"{github.web_url}/acme/api/commit/{feature.sha}"
    assert feature.author == "Alice Example" and feature.authored_at.startswith("20")
    assert changes.compare_url == f"{github.web_url}/acme/api/compare/{shas[600]}...main"


@pytest.mark.parametrize(
    ("previous", "revision", "status", "ahead", "behind"),
    [(600, 595, "behind", 0, 5), (600, 600, "identical", 0, 0)],
)
def test_behind_and_identical_are_reported(
    github: FakeGitHub, history: tuple[GitRepo, list[str]], previous: int, revision: int,
    status: str, ahead: int, behind: int,
) -> None:
    _, shas = history
    changes = client(github).compare(REPO, shas[previous], shas[revision][:10])
    assert (changes.status, changes.ahead_by, changes.behind_by) == (status, ahead, behind)
    assert changes.commits == []
    assert changes.revision == shas[revision]  # the full sha, not the short one given
    assert len(github.api.received()) == 1


def test_diverged_is_reported(github: FakeGitHub, history: tuple[GitRepo, list[str]]) -> None:
    repo, _ = history
    main_side = repo.git("rev-parse", "main~1")  # "main side", not on the feature branch
    changes = client(github).compare(REPO, "feature", main_side)
    assert (changes.status, changes.ahead_by, changes.behind_by) == ("diverged", 1, 1)
    assert [c.summary for c in changes.commits] == ["main side"]


def test_enterprise_url_gets_the_api_path() -> None:
    assert api_url("https://github.example.com") == "https://github.example.com/api/v3"
    assert api_url("https://github.example.com/api/v3/") == "https://github.example.com/api/v3"
    assert api_url(None) == api_url("https://github.com") == "https://api.github.com"
    with pytest.raises(ConfigError):
        api_url("github.example.com")


def test_the_token_is_sent_and_a_bad_one_is_a_clear_error_without_the_token(
    github: FakeGitHub, history: tuple[GitRepo, list[str]]
) -> None:
    _, shas = history
    github.token = "ghp_right_token_123"
    ok = GitHubClient(github.api.url, "ghp_right_token_123", retries=0)
    assert ok.compare(REPO, shas[599], shas[600]).total == 1
    with pytest.raises(ServiceError, match="bad credentials") as caught:
        GitHubClient(github.api.url, "ghp_wrong_token_456", retries=0).compare(
            REPO, shas[599], shas[600])
    assert "ghp_wrong" not in str(caught.value)
    assert "DEPLOYTRAIL_GITHUB_TOKEN" in str(caught.value)


def test_server_errors_are_retried_then_succeed(github: FakeGitHub,
                                                history: tuple[GitRepo, list[str]]) -> None:
    _, shas = history
    github.api.fail_next(2, 502)
    assert client(github).compare(REPO, shas[500], shas[600]).total == 100
    assert len(github.api.received()) == 3


def test_server_errors_end_in_a_clear_error_after_bounded_retries(
    github: FakeGitHub, history: tuple[GitRepo, list[str]]
) -> None:
    _, shas = history
    github.api.fail_next(20, 503)
    with pytest.raises(ServiceError) as caught:
        client(github, retries=3).compare(REPO, shas[500], shas[600])
    assert caught.value.status == 503
    assert len(github.api.received()) == 4  # the first try and 3 retries


def test_a_rate_limit_that_resets_late_fails_at_once_saying_when(
    github: FakeGitHub, history: tuple[GitRepo, list[str]]
) -> None:
    _, shas = history
    reset = github.rate_limit_next(5, status=403, reset_in=3600)
    started = time.monotonic()
    with pytest.raises(ServiceError, match="rate limit") as caught:
        client(github, max_wait=5).compare(REPO, shas[500], shas[600])
    assert time.monotonic() - started < 3
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(reset))
    assert f"resets at {when} UTC" in str(caught.value)
    assert len(github.api.received()) == 1


def test_a_429_with_a_late_reset_fails_at_once_too(github: FakeGitHub,
                                                   history: tuple[GitRepo, list[str]]) -> None:
    _, shas = history
    github.rate_limit_next(5, status=429, reset_in=600, retry_after=600)
    with pytest.raises(ServiceError, match="rate limit"):
        client(github, max_wait=5).compare(REPO, shas[500], shas[600])
    assert len(github.api.received()) == 1


def test_a_short_rate_limit_is_waited_out(github: FakeGitHub,
                                          history: tuple[GitRepo, list[str]]) -> None:
    _, shas = history
    github.rate_limit_next(1, status=429, retry_after=0)
    github.rate_limit_next(1, status=403, retry_after=0, secondary=True)
    assert client(github).compare(REPO, shas[590], shas[600]).total == 10
    assert len(github.api.received()) == 3


def test_rate_limits_that_never_end_stop_after_the_retries(
    github: FakeGitHub, history: tuple[GitRepo, list[str]]
) -> None:
    _, shas = history
    github.rate_limit_next(50, status=429, retry_after=0)
    with pytest.raises(ServiceError, match=r"rate limit|retries"):
        client(github, retries=2).compare(REPO, shas[590], shas[600])
    assert len(github.api.received()) == 3


def test_an_unknown_repository_or_revision_is_an_input_error(
    github: FakeGitHub, history: tuple[GitRepo, list[str]]
) -> None:
    _, shas = history
    with pytest.raises(InputError, match="acme/nope"):
        client(github).compare("acme/nope", shas[0], shas[1])
    with pytest.raises(InputError, match="does not exist"):
        client(github).compare(REPO, "0badc0de" * 5, shas[1])
    with pytest.raises(InputError, match="OWNER/REPO"):
        client(github).compare("just-a-name", shas[0], shas[1])


def test_a_server_that_is_down_is_service_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = GitHubClient(f"http://127.0.0.1:{port}", None, retries=1, backoff=0.01)
    with pytest.raises(ServiceUnavailable, match="cannot reach"):
        down.compare(REPO, "a" * 40, "b" * 40)


def test_first_release_lists_the_newest_50_in_one_request(
    github: FakeGitHub, history: tuple[GitRepo, list[str]]
) -> None:
    _, shas = history
    changes = client(github).first(REPO, shas[600])
    assert (changes.status, changes.total, changes.truncated) == ("first", 50, True)
    assert [c.sha for c in changes.commits] == shas[551:][::-1]
    assert len(github.api.received()) == 1
