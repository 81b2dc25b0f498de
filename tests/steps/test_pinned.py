"""deploytrail pinned: inside the production build, find the promoted build and hand it on."""

from __future__ import annotations

import re

import pytest

from deploytrail import record
from deploytrail.cli import main
from fakes.teamcity import FakeTeamCity

TOKEN = "nonprod-secret-4711"
REV = "9b1d" + "c" * 36


@pytest.fixture
def nonprod(monkeypatch: pytest.MonkeyPatch) -> FakeTeamCity:
    monkeypatch.setenv("DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN", TOKEN)
    monkeypatch.setenv("TEAMCITY_VERSION", "2025.03")
    return FakeTeamCity.shared("nonprod", token=TOKEN)


def pinned(capsys: pytest.CaptureFixture[str], nonprod: FakeTeamCity) -> tuple[int, str, str]:
    code = main(["pinned", "--build-type", "Api_Build", "--teamcity-url", nonprod.url])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return code, out, err


def parameters(out: str) -> dict[str, str]:
    """The ``setParameter`` service messages in ``out`` (values here need no unescaping)."""
    found = re.findall(r"##teamcity\[setParameter [^\]]*?name='([^']*)' value='([^']*)'\]", out)
    return dict(found)


def test_the_newest_pinned_successful_build_sets_parameters_and_the_record(
    nonprod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    nonprod.add_build("Api_Build", pinned=True)
    build = nonprod.add_build("Api_Build", pinned=True, revision=REV)
    nonprod.add_build("Api_Build")  # newer, not promoted
    code, out, _ = pinned(capsys, nonprod)
    assert code == 0
    artifacts = f"{nonprod.url}/repository/downloadAll/Api_Build/{build.id}:id"
    assert parameters(out) == {
        "deploytrail.pinned.build_id": str(build.id),
        "deploytrail.pinned.build_number": build.number,
        "deploytrail.pinned.revision": REV,
        "deploytrail.pinned.artifacts_url": artifacts,
        "env.DEPLOYTRAIL_REVISION": REV,
    }
    saved = record.load()
    assert saved.revision == REV
    assert saved.pinned["build_number"] == build.number
    assert saved.pinned["artifacts_url"] == artifacts
    assert all(r.method == "GET" for r in nonprod.received())


def test_the_build_id_queued_by_promote_wins_over_the_newest_pinned(
    nonprod: FakeTeamCity, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = nonprod.add_build("Api_Build", pinned=True, revision=REV)
    nonprod.add_build("Api_Build", pinned=True)
    monkeypatch.setenv("DEPLOYTRAIL_PINNED_BUILD_ID", str(chosen.id))
    code, out, _ = pinned(capsys, nonprod)
    assert code == 0 and parameters(out)["deploytrail.pinned.build_id"] == str(chosen.id)
    assert record.load().revision == REV


def test_a_failed_build_id_is_refused(
    nonprod: FakeTeamCity, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    red = nonprod.add_build("Api_Build", status="FAILURE")
    monkeypatch.setenv("DEPLOYTRAIL_PINNED_BUILD_ID", str(red.id))
    code, out, _ = pinned(capsys, nonprod)
    assert code == 1 and "must not go to production" in out and "setParameter" not in out


def test_no_pinned_build_is_a_clear_failure(
    nonprod: FakeTeamCity, capsys: pytest.CaptureFixture[str]
) -> None:
    nonprod.add_build("Api_Build")
    code, out, _ = pinned(capsys, nonprod)
    assert code == 1 and "no pinned successful build" in out
    assert "buildProblem" in out


def test_a_pinned_build_id_that_is_not_a_number_is_bad_input(
    nonprod: FakeTeamCity, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYTRAIL_PINNED_BUILD_ID", "100,buildType:(id:Other)")
    code, _, err = pinned(capsys, nonprod)
    assert code == 2 and "--pinned-build-id" in err and "is not a build id" in err
    assert nonprod.received() == []
