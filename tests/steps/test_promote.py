"""deploytrail promote: pin the newest green non-prod build, queue production, on fake servers."""

from __future__ import annotations

import pytest

from deploytrail.cli import main
from deploytrail.clients.aliases import Alias, open_store
from fakes.redis import free_port
from fakes.teamcity import FakeTeamCity

NONPROD_TOKEN = "nonprod-secret-4711"
PROD_TOKEN = "prod-secret-0815"
REV = "4f2a9c1d" + "e" * 32


@pytest.fixture
def nonprod() -> FakeTeamCity:
    return FakeTeamCity.shared("nonprod", token=NONPROD_TOKEN)


@pytest.fixture
def prod(monkeypatch: pytest.MonkeyPatch) -> FakeTeamCity:
    server = FakeTeamCity.shared("prod", token=PROD_TOKEN)
    server.add_build_type("Api_DeployProd")
    monkeypatch.setenv("DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN", NONPROD_TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_PROD_TEAMCITY_TOKEN", PROD_TOKEN)
    return server


def add_alias(nonprod: FakeTeamCity, prod_url: str, **extra: object) -> Alias:
    alias = Alias("api", "Api_Build", "Api_DeployProd", nonprod_url=nonprod.url,
                  prod_url=prod_url, **extra)  # type: ignore[arg-type]
    open_store().add(alias)
    return alias


def promote(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["promote", "api", "--as", "alice", *args])
    out, err = capsys.readouterr()
    assert NONPROD_TOKEN not in out + err and PROD_TOKEN not in out + err
    return code, out, err


def writes(server: FakeTeamCity) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.received() if r.method != "GET"]


def test_the_newest_green_build_is_pinned_tagged_and_queued_on_production(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    nonprod.add_build("Api_Build", status="FAILURE")
    green = nonprod.add_build("Api_Build", revision=REV)
    add_alias(nonprod, prod.url)
    code, out, _ = promote(capsys)
    assert code == 0
    assert green.pinned and green.pin_comment == "Promoted to production by alice via deploytrail"
    assert green.tags == ["deploytrail-promoted"]
    [queued] = prod.queued()
    assert queued.build_type == "Api_DeployProd"
    assert queued.properties["deploytrail.pinned.build_id"] == str(green.id)
    assert queued.properties["deploytrail.pinned.build_number"] == green.number
    assert queued.properties["deploytrail.pinned.revision"] == REV
    assert queued.properties["deploytrail.triggered_by"] == "alice"
    assert "alice" in (queued.comment or "") and green.number in (queued.comment or "")
    assert f"{prod.url}/viewQueued.html?itemId={queued.id}" in out
    assert f"#{green.number}" in out
    assert writes(nonprod) == [f"PUT /app/rest/builds/id:{green.id}/pinInfo",
                               f"POST /app/rest/builds/id:{green.id}/tags"]
    assert writes(prod) == ["POST /app/rest/buildQueue"]


def test_a_failed_newest_build_blocks_and_names_the_green_one_instead(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    older = nonprod.add_build("Api_Build")
    newest = nonprod.add_build("Api_Build", status="FAILURE", status_text="Compilation error")
    add_alias(nonprod, prod.url)
    code, _, err = promote(capsys)
    assert code == 1
    assert f"newest build #{newest.number}" in err and "Compilation error" in err
    assert f"newest green build is #{older.number}" in err and f"--build {older.number}" in err
    assert writes(nonprod) == [] and prod.received() == []


def test_a_successful_newest_build_with_failed_tests_is_not_green(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    nonprod.add_build("Api_Build")
    nonprod.add_build("Api_Build", status="SUCCESS", tests=(50, 2, 0))
    add_alias(nonprod, prod.url)
    code, _, err = promote(capsys)
    assert code == 1 and "SUCCESS but has 2 failed test(s)" in err
    assert writes(nonprod) == [] and prod.received() == []


def test_muted_test_failures_are_shown_and_do_not_block(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    build = nonprod.add_build("Api_Build", tests=(50, 0, 2),
                              muted_names=["tests.test_flaky_login", "tests.test_slow_search"])
    add_alias(nonprod, prod.url)
    code, out, _ = promote(capsys)
    assert code == 0 and build.pinned and len(prod.queued()) == 1
    assert "2 muted test failure(s)" in out and "tests.test_flaky_login" in out


def test_a_build_number_chooses_an_older_green_build_on_purpose(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    older = nonprod.add_build("Api_Build")
    nonprod.add_build("Api_Build", status="FAILURE")
    add_alias(nonprod, prod.url)
    code, _, _ = promote(capsys, "--build", str(older.number))
    assert code == 0 and older.pinned
    assert prod.queued()[0].properties["deploytrail.pinned.build_id"] == str(older.id)


def test_a_build_number_of_a_red_build_is_refused(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    red = nonprod.add_build("Api_Build", status="FAILURE")
    add_alias(nonprod, prod.url)
    code, _, err = promote(capsys, "--build", str(red.number))
    assert code == 1 and f"build #{red.number} of Api_Build cannot be promoted" in err
    assert writes(nonprod) == [] and prod.received() == []


def test_no_builds_is_a_clear_message(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    nonprod.add_build_type("Api_Build")
    add_alias(nonprod, prod.url)
    code, _, err = promote(capsys)
    assert code == 1 and "Api_Build has no finished build on the default branch" in err
    assert prod.received() == []


def test_builds_of_other_branches_are_not_promoted(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    nonprod.add_build("Api_Build", branch="feature/x", default_branch=False)
    release = nonprod.add_build("Api_Build", branch="release/2", default_branch=False)
    add_alias(nonprod, prod.url, branch="release/2")
    code, _, _ = promote(capsys)
    assert code == 0 and release.pinned


def test_an_unknown_alias_is_bad_input(
    prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = promote(capsys)
    assert code == 2 and "api? Never heard of it" in err


def test_a_user_not_allowed_on_the_alias_changes_nothing(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    nonprod.add_build("Api_Build")
    add_alias(nonprod, prod.url, allow_users=("bob", "ops-*"))
    code, _, err = promote(capsys)
    assert code == 1 and "alice is not allowed to deploy api" in err
    assert nonprod.received() == [] and prod.received() == []


def test_a_room_not_allowed_on_the_alias_changes_nothing(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    nonprod.add_build("Api_Build")
    add_alias(nonprod, prod.url, allow_rooms=("#deploys",))
    code, _, err = promote(capsys, "--room", "#random")
    assert code == 1 and "not allowed to be deployed from room #random" in err
    assert nonprod.received() == [] and prod.received() == []
    code, _, _ = promote(capsys, "--room", "#deploys")
    assert code == 0


def test_the_server_failing_the_pin_leaves_nothing_queued(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    build = nonprod.add_build("Api_Build")
    nonprod.break_on("PUT", "pinInfo$", 503)
    add_alias(nonprod, prod.url)
    code, _, err = promote(capsys)
    assert code == 3 and "nothing was pinned or queued" in err and "503" in err
    assert not build.pinned and prod.received() == []
    assert len(nonprod.received("PUT", "pinInfo$")) == 1
    assert len(nonprod.received("GET", "pinInfo$")) == 1  # checked, not repeated
    nonprod.break_on("PUT", "pinInfo$", 503)
    nonprod.break_on("GET", "pinInfo$", 503)
    code, _, err = promote(capsys)
    assert code == 3 and "nothing was queued (the build may or may not be pinned)" in err
    assert prod.received() == [] and len(nonprod.received("PUT", "pinInfo$")) == 2


def test_production_down_while_queueing_reports_the_pin_and_the_next_step(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    build = nonprod.add_build("Api_Build")
    down = f"http://127.0.0.1:{free_port()}"
    add_alias(nonprod, down)
    code, _, err = promote(capsys)
    assert code == 3 and build.pinned
    assert f"Api_Build #{build.number} IS pinned" in err and "NOT queued" in err
    assert f"deploytrail promote api --build {build.number}" in err
    assert f"deploytrail.pinned.build_id={build.id}" in err


def test_a_refused_production_token_is_reported_with_teamcitys_words(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nonprod.add_build("Api_Build")
    monkeypatch.setenv("DEPLOYTRAIL_PROD_TEAMCITY_TOKEN", "stale-token-9999")
    add_alias(nonprod, prod.url)
    code, _, err = promote(capsys)
    assert code == 3 and "401" in err and "Authentication required" in err
    assert "stale-token-9999" not in err and prod.queued() == []


def test_dry_run_changes_nothing(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    build = nonprod.add_build("Api_Build", revision=REV)
    add_alias(nonprod, prod.url)
    code, out, _ = promote(capsys, "--dry-run")
    assert code == 0 and f"would pin Api_Build #{build.number} ({REV[:12]})" in out
    assert "would queue Api_DeployProd" in out and "nothing changed" in out
    assert writes(nonprod) == [] and prod.received() == [] and not build.pinned


def test_missing_tokens_are_named(
    nonprod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    nonprod.add_build("Api_Build")
    add_alias(nonprod, "https://tc.example.com")
    code, _, err = promote(capsys)
    assert code == 2 and "DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN" in err
    assert "DEPLOYTRAIL_PROD_TEAMCITY_TOKEN" in err and nonprod.received() == []


def test_a_queue_answer_lost_with_the_queue_unreadable_does_not_claim_nothing_was_queued(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    build = nonprod.add_build("Api_Build")
    add_alias(nonprod, prod.url)
    prod.api.drop_next(4)  # the POST is done but its answer lost; so is every look at the queue
    code, _, err = promote(capsys)
    [queued] = prod.queued()
    assert code == 3 and build.pinned and len(prod.received("POST")) == 1
    assert "NOT queued" not in err and "MAY have been queued" in err
    assert queued.properties["deploytrail.request_id"] in err
    assert "look at the queue and history of Api_DeployProd" in err


def test_a_build_number_or_a_hand_edited_alias_cannot_inject_locator_dimensions(
    nonprod: FakeTeamCity, prod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    other = nonprod.add_build("Other_Build")
    add_alias(nonprod, prod.url)
    code, _, err = promote(capsys, "--build", f"1,id:{other.id}")
    assert code == 2 and f"--build: '1,id:{other.id}' has ','" in err
    add_alias(nonprod, prod.url, branch="main),pinned:(any")  # as if the TOML were edited
    code, _, err = promote(capsys)
    assert code == 2 and "branch 'main),pinned:(any' has '(' ')' ','" in err
    assert nonprod.received() == [] and prod.received() == [] and not other.pinned
