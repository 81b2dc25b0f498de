"""The TeamCity REST client against a fake server that follows the documented API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploytrail.clients.teamcity import (
    Build,
    TeamCityClient,
    WriteUnconfirmed,
    branch_locator,
)
from deploytrail.errors import ServiceError, ServiceUnavailable
from fakes.teamcity import FakeTeamCity

TOKEN = "s3cr3t-token-value"


@pytest.fixture
def tc() -> Iterator[FakeTeamCity]:
    server = FakeTeamCity.shared("client", token=TOKEN)
    server.users = {"TeamCityBuildId=7": "pw"}
    yield server


def client(tc: FakeTeamCity, **kw: object) -> TeamCityClient:
    return TeamCityClient(tc.url, TOKEN, backoff=0, **kw)  # type: ignore[arg-type]


def test_latest_builds_are_newest_first_on_the_default_branch_with_fields(
    tc: FakeTeamCity,
) -> None:
    tc.add_build("Api_Build", revision="a" * 40)
    tc.add_build("Api_Build", branch="feature/x", default_branch=False)
    newest = tc.add_build("Api_Build", revision="b" * 40, tests=(5, 0, 2))
    builds = client(tc).latest_builds("Api_Build")
    assert [b.id for b in builds] == [str(newest.id), str(newest.id - 2)]
    assert builds[0].revision == "b" * 40
    assert builds[0].tests.muted == 2 and builds[0].tests.passed == 5
    request = tc.received("GET", "/app/rest/builds$")[0]
    assert "branch:(default:true)" in (request.arg("locator") or "")
    assert "revisions(revision(version" in (request.arg("fields") or "")
    assert request.header("Authorization") == f"Bearer {TOKEN}"
    assert request.header("Accept") == "application/json"


def test_a_named_branch_uses_a_branch_name_locator(tc: FakeTeamCity) -> None:
    tc.add_build("Api_Build")
    feature = tc.add_build("Api_Build", branch="release/1.2", default_branch=False)
    assert [b.id for b in client(tc).latest_builds("Api_Build", "release/1.2")] == [
        str(feature.id)]
    assert branch_locator("release/1.2") == "branch:(name:release/1.2)"


def test_failed_tests_make_a_successful_build_not_green(tc: FakeTeamCity) -> None:
    tc.add_build("Api_Build", tests=(10, 2, 0))
    build = client(tc).latest_builds("Api_Build")[0]
    assert build.status == "SUCCESS" and not build.green
    assert "2 failed test(s)" in build.why_not_green()


def test_test_counts_come_from_the_builds_test_occurrences(tc: FakeTeamCity) -> None:
    b = tc.add_build("Api_Build", tests=(7, 1, 3))
    counts = client(tc).test_counts(str(b.id))
    assert (counts.passed, counts.failed, counts.muted) == (7, 1, 3)
    assert client(tc).muted_failures(str(b.id)) == b.muted_names


def test_pin_sends_pin_info_with_status_and_comment(tc: FakeTeamCity) -> None:
    b = tc.add_build("Api_Build")
    c = client(tc)
    c.pin(c.build(str(b.id)), "Promoted to production by alice via deploytrail")
    assert b.pinned and b.pin_comment == "Promoted to production by alice via deploytrail"
    assert c.is_pinned(str(b.id))
    put = tc.received("PUT", "pinInfo")[0]
    assert put.json() == {"status": True, "comment": {
        "text": "Promoted to production by alice via deploytrail"}}


def test_no_session_cookie_is_kept_so_writes_pass_the_csrf_check(tc: FakeTeamCity) -> None:
    b = tc.add_build("Api_Build")
    c = client(tc)
    build = c.build(str(b.id))  # the server sets TCSESSIONID here
    c.add_tag(build, "deploytrail-promoted")
    assert b.tags == ["deploytrail-promoted"]
    assert all("TCSESSIONID" not in (r.header("Cookie") or "") for r in tc.received())


def test_a_pin_that_failed_after_the_server_did_it_is_checked_not_repeated(
    tc: FakeTeamCity,
) -> None:
    b = tc.add_build("Api_Build")
    tc.break_on("PUT", "pinInfo", 502, after_work=True)
    c = client(tc)
    c.pin(c.build(str(b.id)), "why")
    assert b.pinned
    assert len(tc.received("PUT", "pinInfo")) == 1
    assert len(tc.received("GET", "pinInfo")) == 1


def test_a_pin_the_server_refused_is_reported_once(tc: FakeTeamCity) -> None:
    b = tc.add_build("Api_Build")
    tc.break_on("PUT", "pinInfo", 503)
    c = client(tc)
    with pytest.raises(ServiceError) as caught:
        c.pin(c.build(str(b.id)), "why")
    assert caught.value.status == 503 and not b.pinned
    assert len(tc.received("PUT", "pinInfo")) == 1


def test_queue_build_posts_properties_and_comment_and_returns_the_web_url(
    tc: FakeTeamCity,
) -> None:
    tc.add_build_type("Api_DeployProd")
    queued = client(tc).queue_build("Api_DeployProd", {"deploytrail.triggered_by": "alice"},
                                    "Promotion by alice")
    assert queued.web_url == f"{tc.url}/viewQueued.html?itemId={queued.id}"
    [build] = tc.queued()
    assert build.properties["deploytrail.triggered_by"] == "alice"
    assert build.comment == "Promotion by alice"


def test_a_queue_request_lost_after_the_server_queued_finds_the_build_instead_of_repeating(
    tc: FakeTeamCity,
) -> None:
    tc.add_build_type("Api_DeployProd")
    tc.break_on("POST", "buildQueue", 504, after_work=True)
    queued = client(tc).queue_build("Api_DeployProd", {}, "c")
    assert len(tc.queued()) == 1 and queued.id == str(tc.queued()[0].id)
    assert len(tc.received("POST", "buildQueue")) == 1


def test_a_queue_answer_lost_on_the_wire_is_found_in_the_queue(tc: FakeTeamCity) -> None:
    tc.add_build_type("Api_DeployProd")
    tc.api.drop_next(1)  # the server queued it, then the connection closed without an answer
    queued = client(tc).queue_build("Api_DeployProd", {}, "c")
    assert [str(b.id) for b in tc.queued()] == [queued.id]
    assert len(tc.received("POST", "buildQueue")) == 1


def test_a_write_whose_outcome_cannot_be_checked_is_unconfirmed_not_failed(
    tc: FakeTeamCity,
) -> None:
    b = tc.add_build("Api_Build")
    tc.add_build_type("Api_DeployProd")
    c = client(tc)
    build = c.build(str(b.id))
    tc.api.drop_next(4)  # the pin is done, its answer lost, and so are the three checks
    with pytest.raises(WriteUnconfirmed) as caught:
        c.pin(build, "why")
    assert b.pinned and "could not be asked whether the build is pinned" in str(caught.value)
    assert len(tc.received("PUT", "pinInfo")) == 1
    tc.api.drop_next(4)
    with pytest.raises(WriteUnconfirmed) as queue:
        c.queue_build("Api_DeployProd", {}, "c")
    [queued] = tc.queued()
    assert queued.properties["deploytrail.request_id"] in str(queue.value)
    assert len(tc.received("POST", "buildQueue")) == 1 and TOKEN not in str(queue.value)


def test_a_queue_request_the_server_refused_is_not_repeated(tc: FakeTeamCity) -> None:
    tc.add_build_type("Api_DeployProd")
    tc.break_on("POST", "buildQueue", 500)
    with pytest.raises(ServiceError):
        client(tc).queue_build("Api_DeployProd", {}, "c")
    assert tc.queued() == [] and len(tc.received("POST", "buildQueue")) == 1


def test_reads_are_retried_on_5xx_a_bounded_number_of_times(tc: FakeTeamCity) -> None:
    tc.add_build("Api_Build")
    tc.break_on("GET", "/app/rest/builds$", 503, times=2)
    assert len(client(tc, retries=2).latest_builds("Api_Build")) == 1
    tc.break_on("GET", "/app/rest/builds$", 503, times=5)
    with pytest.raises(ServiceError) as caught:
        client(tc, retries=2).latest_builds("Api_Build")
    assert caught.value.status == 503
    assert len(tc.received("GET", "/app/rest/builds$")) == 3 + 3


def test_an_unknown_build_configuration_is_named_with_teamcitys_words(tc: FakeTeamCity) -> None:
    with pytest.raises(ServiceError) as caught:
        client(tc).latest_builds("Nope_Build")
    text = str(caught.value)
    assert caught.value.status == 404
    assert "Nope_Build" in text and "No build type nor template is found" in text
    assert "127.0.0.1" in text and TOKEN not in text


def test_a_wrong_token_is_401_with_a_hint_and_the_token_is_never_shown(tc: FakeTeamCity) -> None:
    with pytest.raises(ServiceError) as caught:
        TeamCityClient(tc.url, "wrong-token-123", backoff=0).latest_builds("Api_Build")
    assert caught.value.status == 401
    assert "wrong-token-123" not in str(caught.value) and "TOKEN" in str(caught.value)


def test_a_session_cookie_post_without_csrf_token_gets_teamcitys_403_text(
    tc: FakeTeamCity,
) -> None:
    import requests

    tc.add_build_type("Api_DeployProd")
    reply = requests.post(f"{tc.url}/app/rest/buildQueue", json={"buildType": {"id": "x"}},
                          headers={"Authorization": f"Bearer {TOKEN}",
                                   "Cookie": "TCSESSIONID=ABC123"}, timeout=5)
    assert reply.status_code == 403 and "CSRF" in reply.text


def test_a_body_not_sent_as_json_gets_415_and_a_500_carries_teamcitys_text(
    tc: FakeTeamCity,
) -> None:
    import requests

    tc.add_build_type("Api_DeployProd")
    reply = requests.post(f"{tc.url}/app/rest/buildQueue", data='{"buildType": {"id": "x"}}',
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert reply.status_code == 415 and tc.queued() == []
    tc.break_on("POST", "buildQueue", 500)
    with pytest.raises(ServiceError) as caught:
        client(tc).queue_build("Api_DeployProd", {}, "c")
    assert caught.value.status == 500 and "Internal Server Error" in str(caught.value)
    assert "Api_DeployProd" in str(caught.value) and tc.url in str(caught.value)


def test_a_server_that_is_down_is_service_unavailable_naming_the_server() -> None:
    from fakes.redis import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServiceUnavailable) as caught:
        TeamCityClient(url, TOKEN, retries=1, backoff=0).latest_builds("Api_Build")
    assert "Api_Build" in str(caught.value) and url in str(caught.value)


def test_build_status_works_for_a_running_build_with_build_credentials(tc: FakeTeamCity) -> None:
    b = tc.add_build("Api_DeployProd", status="FAILURE", state="running")
    c = TeamCityClient(tc.url, username="TeamCityBuildId=7", password="pw", backoff=0)
    assert c.build_status(str(b.id)) == "FAILURE"
    assert (tc.received()[0].header("Authorization") or "").startswith("Basic ")


def test_artifact_url_points_at_teamcitys_download_paths(tc: FakeTeamCity) -> None:
    b = tc.add_build("Api_Build")
    c = client(tc)
    build: Build = c.build(str(b.id))
    assert c.artifact_url(build) == f"{tc.url}/repository/downloadAll/Api_Build/{b.id}:id"
    assert c.artifact_url(build, "dist/api.tar.gz") == (
        f"{tc.url}/repository/download/Api_Build/{b.id}:id/dist/api.tar.gz")


def test_pinned_builds_finds_pinned_successful_builds_on_any_branch(tc: FakeTeamCity) -> None:
    tc.add_build("Api_Build", pinned=True)
    newer = tc.add_build("Api_Build", pinned=True, branch="hotfix", default_branch=False)
    tc.add_build("Api_Build")
    tc.add_build("Api_Build", pinned=True, status="FAILURE")
    assert client(tc).pinned_builds("Api_Build")[0].id == str(newer.id)


def test_server_version_proves_the_token_works(tc: FakeTeamCity) -> None:
    assert client(tc).server_version() == "2025.03 (build 186049)"
    with pytest.raises(ServiceError) as caught:
        TeamCityClient(tc.url, "nope-nope", backoff=0).server_version()
    assert caught.value.status == 401
