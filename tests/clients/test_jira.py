"""The JIRA client against a fake JIRA that the real ``jira`` library talks to."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from deploytrail.clients.jira import JiraClient, parse_jira_url
from deploytrail.errors import ConfigError, InputError, ServiceError, ServiceUnavailable
from fakes.jira import FakeJira

TOKEN = "pat-secret-token-123"
FIELDS = {"project": {"key": "CHG"}, "issuetype": {"name": "Task"}, "summary": "Release api"}


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def cloud() -> Iterator[FakeJira]:
    with FakeJira(cloud=True, token=TOKEN, email="robot@example.com") as fake:
        yield fake


def _client(fake: FakeJira, **options: object) -> JiraClient:
    email = "robot@example.com" if fake.cloud else None
    settings: dict[str, object] = {"retry_delays": (0.01, 0.01), "timeout": 5.0}
    settings.update(options)
    return JiraClient(fake.url, token=TOKEN, email=email, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "server", "project"),
    [
        ("jira+https://jira.example.com/CHG", "https://jira.example.com", "CHG"),
        ("jira+https://jira.example.com/CHG/", "https://jira.example.com", "CHG"),
        ("jira+http://intranet:8080/jira/OPS_2", "http://intranet:8080/jira", "OPS_2"),
    ],
)
def test_a_jira_url_names_the_server_and_the_project(url: str, server: str, project: str) -> None:
    target = parse_jira_url(url)
    assert (target.server, target.project) == (server, project)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://jira.example.com/CHG", "not a JIRA URL"),
        ("jira+https://jira.example.com/", "project key"),
        ("jira+https://jira.example.com/chg", "project key"),
        ("jira+https://bob:s3cret@jira.example.com/CHG", "carries credentials"),
    ],
)
def test_a_bad_jira_url_is_a_config_error_that_shows_the_form(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        parse_jira_url(url)
    assert "s3cret" not in str(caught.value)
    assert "jira+https://jira.example.com/CHG" in str(caught.value)


def test_create_once_creates_with_the_label_on_server(jira: FakeJira) -> None:
    issue, created = _client(jira).create_once("CHG", "deploytrail-1", dict(FIELDS))
    assert created and issue.key == "CHG-1"
    assert issue.url == f"{jira.url}/browse/CHG-1"
    assert jira.created()[0]["labels"] == ["deploytrail-1"]
    assert jira.received("GET", r"/rest/api/2/search$")
    assert jira.received("POST", r"/issue$")[0].header("Authorization") == f"Bearer {TOKEN}"


def test_create_once_finds_the_existing_issue_instead_of_filing_another(jira: FakeJira) -> None:
    first, _ = _client(jira).create_once("CHG", "deploytrail-1", dict(FIELDS))
    again, created = _client(jira).create_once("CHG", "deploytrail-1", dict(FIELDS))
    assert not created and again.key == first.key
    assert len(jira.issues) == 1


def test_cloud_is_searched_through_search_jql_with_email_and_token(cloud: FakeJira) -> None:
    client = _client(cloud)
    client.create_once("CHG", "deploytrail-1", dict(FIELDS))
    again, created = client.create_once("CHG", "deploytrail-1", dict(FIELDS))
    assert client.is_cloud and not created and again.key == "CHG-1"
    assert cloud.received(path_re=r"/search/jql$")
    assert not cloud.received(path_re=r"/search$")  # retired on Cloud (HTTP 410)


def test_a_dropped_response_after_create_finds_the_issue_on_retry(jira: FakeJira) -> None:
    jira.drop_create_responses(1)
    issue, created = _client(jira).create_once("CHG", "deploytrail-1", dict(FIELDS))
    assert len(jira.issues) == 1
    assert issue.key == "CHG-1" and not created
    assert len(jira.received("POST", r"/issue$")) == 1


def test_an_answer_cut_short_after_create_finds_the_issue_on_retry(jira: FakeJira) -> None:
    jira.cut_create_responses(1)
    issue, created = _client(jira).create_once("CHG", "deploytrail-1", dict(FIELDS))
    assert issue.key == "CHG-1" and not created
    assert len(jira.issues) == 1
    assert len(jira.received("POST", r"/issue$")) == 1


def test_a_timeout_after_create_finds_the_issue_on_retry(jira: FakeJira) -> None:
    jira.slow_create_responses(1, 1.5)
    issue, _ = _client(jira, timeout=0.5).create_once("CHG", "deploytrail-1", dict(FIELDS))
    assert issue.key == "CHG-1"
    assert len(jira.issues) == 1


def test_503s_are_retried_a_bounded_number_of_times(jira: FakeJira) -> None:
    jira.fail_next(2, 503)
    issue, created = _client(jira).create_once("CHG", "deploytrail-1", dict(FIELDS))
    assert created and issue.key == "CHG-1"


def test_a_server_that_stays_down_gives_a_clear_error_quickly(jira: FakeJira) -> None:
    jira.fail_next(50, 503)
    started = time.monotonic()
    with pytest.raises(ServiceError, match=r"after 3 attempts.*HTTP 503") as caught:
        _client(jira).create_once("CHG", "deploytrail-1", dict(FIELDS))
    assert time.monotonic() - started < 5
    assert len(jira.requests) == 3
    assert caught.value.exit_code == 3


def test_an_unreachable_server_is_service_unavailable() -> None:
    with FakeJira() as gone:
        url = gone.url
    client = JiraClient(url, token=TOKEN, retry_delays=(0.01,), timeout=1.0)
    with pytest.raises(ServiceUnavailable, match="could not be reached"):
        client.find_by_label("CHG", "x")


def test_a_wrong_token_is_a_401_with_a_hint_and_no_token(jira: FakeJira) -> None:
    client = JiraClient(jira.url, token="wrong-token-456", retry_delays=())
    with pytest.raises(ServiceError) as caught:
        client.find_by_label("CHG", "x")
    text = str(caught.value)
    assert "401" in text and "DEPLOYTRAIL_JIRA_TOKEN" in text
    assert "wrong-token-456" not in text


def test_a_server_echoing_the_token_does_not_leak_it(jira: FakeJira) -> None:
    from fakes.http import Reply

    jira.routes.insert(0, ("POST", __import__("re").compile(r"/rest/api/2/issue"),
                           lambda r: Reply.json({"errorMessages": [
                               f"bad header {r.header('Authorization')}"]}, 400)))
    with pytest.raises(ServiceError) as caught:
        _client(jira).create_once("CHG", "deploytrail-1", dict(FIELDS))
    assert TOKEN not in str(caught.value)
    assert "bad header Bearer ***" in str(caught.value)


def test_a_rejected_field_quotes_what_jira_said(jira: FakeJira) -> None:
    fields = {**FIELDS, "issuetype": {"name": "Nope"}}
    with pytest.raises(ServiceError, match="valid issue type is required") as caught:
        _client(jira).create_once("CHG", "deploytrail-1", fields)
    assert "--issue-type" in str(caught.value)
    assert len(jira.received("POST", r"/issue$")) == 1  # a 400 is not retried


def test_an_email_without_a_token_is_an_input_error() -> None:
    with pytest.raises(InputError, match="DEPLOYTRAIL_JIRA_TOKEN"):
        JiraClient("https://jira.example.com", email="robot@example.com")


def test_links_and_comments_are_added_once(jira: FakeJira) -> None:
    client = _client(jira)
    issue, _ = client.create_once("CHG", "deploytrail-1", dict(FIELDS))
    for _ in range(2):
        assert client.add_links(
            issue.key, [("https://tc.example.com/viewLog.html?buildId=1", "Build")]) == []
        assert client.add_comment_once(issue.key, "done [marker-1]", "marker-1") is (_ == 0)
    assert [link["object"]["url"] for link in jira.links["CHG-1"]] == [
        "https://tc.example.com/viewLog.html?buildId=1"]
    assert [c["body"] for c in jira.comments["CHG-1"]] == ["done [marker-1]"]


def test_check_project_reports_server_user_project_and_issue_type(
    jira: FakeJira, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploytrail.clients.jira import check_project

    monkeypatch.setenv("DEPLOYTRAIL_JIRA_TOKEN", TOKEN)
    text = check_project(f"jira+{jira.url}/CHG", "Change")
    assert "(Server/Data Center) as Deploy Robot, project CHG, issue type Change" in text
    with pytest.raises(ServiceError, match=r"(?s)no issue type 'Nope'.*Bug, Change, Task"):
        check_project(f"jira+{jira.url}/CHG", "Nope")
    with pytest.raises(ServiceError, match="404"):
        check_project(f"jira+{jira.url}/OTHER", "Change")
