"""The Errbot plugin through Errbot's own ``testbot`` fixture, against the fake TeamCity servers."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from deploytrail.chatops.errbot_plugin import PLUGIN_DIR
from deploytrail.clients.aliases import Alias, open_store
from fakes.gitrepo import GitRepo
from fakes.teamcity import FakeTeamCity

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = PLUGIN_DIR
loglevel = logging.WARNING
#: Errbot's own access control in front of the alias's: mallory may not run !deploy at all.
extra_config = {
    "BOT_ADMINS": ("gbin@localhost",),
    "ACCESS_CONTROLS": {"deploy": {"denyusers": ("mallory",)}},
}

NONPROD_TOKEN = "nonprod-secret-4711"
PROD_TOKEN = "prod-secret-0815"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeTeamCity, FakeTeamCity]:
    nonprod = FakeTeamCity.shared("nonprod", token=NONPROD_TOKEN)
    prod = FakeTeamCity.shared("prod", token=PROD_TOKEN)
    prod.add_build_type("Api_DeployProd")
    monkeypatch.setenv("DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN", NONPROD_TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_PROD_TEAMCITY_TOKEN", PROD_TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_PROD_TEAMCITY_URL", prod.url)
    return nonprod, prod


def speak_as(testbot: Any, person: str, room: str | None = None) -> None:
    from errbot.backends.test import TestOccupant, TestRoom

    bot = testbot.bot
    bot.sender = (bot.build_identifier(person) if room is None
                  else TestOccupant(person, TestRoom(room, bot=bot)))


def say(testbot: Any, text: str) -> str:
    reply = str(testbot.exec_command(text, timeout=10))
    assert NONPROD_TOKEN not in reply and PROD_TOKEN not in reply
    return reply


def test_deploy_from_chat_pins_queues_and_replies_with_the_link(
    testbot: Any, servers: tuple[FakeTeamCity, FakeTeamCity]
) -> None:
    nonprod, prod = servers
    build = nonprod.add_build("Api_Build", tests=(40, 0, 1))
    open_store().add(Alias("api", "Api_Build", "Api_DeployProd", nonprod_url=nonprod.url,
                           allow_users=("alice",), allow_rooms=("deploys",)))
    speak_as(testbot, "alice", room="deploys")
    reply = say(testbot, "!deploy api")
    [queued] = prod.queued()
    assert f"pinned Api_Build #{build.number}" in reply
    assert f"viewQueued.html?itemId={queued.id}" in reply
    assert "1 muted test failure(s)" in reply
    assert build.pin_comment == "Promoted to production by alice via deploytrail"
    assert queued.properties["deploytrail.triggered_by"] == "alice"

    speak_as(testbot, "bob", room="deploys")
    assert "bob is not allowed to deploy api" in say(testbot, "!deploy api")
    speak_as(testbot, "alice", room="random")
    assert "not allowed to be deployed from room random" in say(testbot, "!deploy api")
    speak_as(testbot, "mallory", room="deploys")
    assert "not allowed to access this command from this user" in say(testbot, "!deploy api")
    assert len(prod.queued()) == 1 and len(nonprod.received("PUT")) == 1


def test_a_failed_newest_build_is_explained_in_chat(
    testbot: Any, servers: tuple[FakeTeamCity, FakeTeamCity]
) -> None:
    nonprod, prod = servers
    green = nonprod.add_build("Api_Build")
    nonprod.add_build("Api_Build", status="SUCCESS", tests=(40, 3, 0))
    open_store().add(Alias("api", "Api_Build", "Api_DeployProd", nonprod_url=nonprod.url))
    reply = say(testbot, "!deploy api")
    assert "3 failed test(s)" in reply and f"deploy api --build {green.number}" in reply
    assert prod.received() == []
    assert "Never heard of it" in say(testbot, "!deploy web")


def test_dry_run_in_chat_lists_the_commits_that_would_go_out(
    testbot: Any, servers: tuple[FakeTeamCity, FakeTeamCity], git_repo: GitRepo
) -> None:
    nonprod, prod = servers
    git_repo.commit("Add the health endpoint")
    head = git_repo.commit("Fix the login redirect (API-42)")
    build = nonprod.add_build("Api_Build", revision=head)
    open_store().add(Alias("api", "Api_Build", "Api_DeployProd", nonprod_url=nonprod.url,
                           source=f"git:{git_repo.path}"))
    reply = say(testbot, "!deploy api --dry-run")
    assert f"would pin Api_Build #{build.number}" in reply
    assert "Fix the login redirect" in reply and "Add the health endpoint" in reply
    assert not build.pinned and prod.received() == []


def test_aliases_are_managed_from_chat_by_admins_only(
    testbot: Any, servers: tuple[FakeTeamCity, FakeTeamCity]
) -> None:
    reply = say(testbot, "!deploy alias add web --pin-build-type Web_Build "
                         "--deploy-build-type Web_Prod --allow-user alice")
    assert "saved alias web" in reply
    assert open_store().get("web").allow_users == ("alice",)
    assert "web: pin Web_Build" in say(testbot, "!deploy alias list")
    speak_as(testbot, "alice")
    assert "may not change aliases" in say(testbot, "!deploy alias remove web")
    speak_as(testbot, "gbin@localhost")
    assert "removed alias web" in say(testbot, "!deploy alias remove web")
    assert "deploy ALIAS --dry-run" in say(testbot, "!deploy help")
