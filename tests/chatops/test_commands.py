"""The transport-free chat commands: parsing, replies, access, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytrail.chatops.commands import HELP, handle
from deploytrail.clients.aliases import Alias, open_store
from fakes.teamcity import FakeTeamCity

TOKENS = {"DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN": "nonprod-secret-4711",
          "DEPLOYTRAIL_PROD_TEAMCITY_TOKEN": "prod-secret-0815"}


@pytest.fixture
def servers() -> tuple[FakeTeamCity, FakeTeamCity]:
    nonprod = FakeTeamCity.shared("nonprod", token=TOKENS["DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN"])
    prod = FakeTeamCity.shared("prod", token=TOKENS["DEPLOYTRAIL_PROD_TEAMCITY_TOKEN"])
    prod.add_build_type("Api_DeployProd")
    return nonprod, prod


def test_help_and_an_empty_command_show_the_grammar() -> None:
    assert handle("deploy help", user="alice").text == HELP
    assert handle("", user="alice").text == HELP


def test_deploy_with_a_build_number_promotes_that_build(
    servers: tuple[FakeTeamCity, FakeTeamCity],
) -> None:
    nonprod, prod = servers
    older = nonprod.add_build("Api_Build")
    nonprod.add_build("Api_Build", status="FAILURE")
    open_store().add(Alias("api", "Api_Build", "Api_DeployProd", nonprod_url=nonprod.url,
                           prod_url=prod.url))
    reply = handle(f"deploy api --build {older.number}", user="alice", environ=TOKENS)
    assert reply.ok and older.pinned and f"#{older.number}" in reply.text
    assert "viewQueued.html" in reply.text


def test_a_direct_message_is_not_an_allowed_room(
    servers: tuple[FakeTeamCity, FakeTeamCity],
) -> None:
    nonprod, prod = servers
    nonprod.add_build("Api_Build")
    open_store().add(Alias("api", "Api_Build", "Api_DeployProd", nonprod_url=nonprod.url,
                           prod_url=prod.url, allow_rooms=("#deploys",)))
    reply = handle("deploy api", user="alice", room=None, environ=TOKENS)
    assert not reply.ok and "from a direct message" in reply.text
    assert "#deploys" in reply.text and nonprod.received() == []


def test_unknown_options_and_bad_quoting_are_explained() -> None:
    reply = handle("deploy api --force", user="alice")
    assert not reply.ok and "--force is not an option of 'deploy api'" in reply.text
    assert "cannot read that command" in handle('deploy "api', user="alice").text
    assert "is not a command" in handle("deploy alias rename a b", user="a",
                                        may_edit_aliases=True).text


def test_alias_changes_need_an_admin_and_valid_options() -> None:
    reply = handle("deploy alias add web --pin-build-type W", user="alice")
    assert not reply.ok and "alice may not change aliases" in reply.text
    reply = handle("deploy alias add web --pin-build-type W", user="root", may_edit_aliases=True)
    assert not reply.ok and "--deploy-build-type is required" in reply.text
    assert open_store().all() == []


def test_a_server_error_reply_never_shows_a_token(
    servers: tuple[FakeTeamCity, FakeTeamCity],
) -> None:
    nonprod, prod = servers
    nonprod.add_build("Api_Build")
    open_store().add(Alias("api", "Api_Build", "Api_DeployProd", nonprod_url=nonprod.url,
                           prod_url=prod.url))
    wrong = {**TOKENS, "DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN": "leaked-token-1234"}
    reply = handle("deploy api", user="alice", environ=wrong)
    assert not reply.ok and "401" in reply.text and "leaked-token-1234" not in reply.text


def test_chat_cannot_point_an_alias_at_another_server() -> None:
    reply = handle("deploy alias add api --pin-build-type A --deploy-build-type B "
                   "--nonprod-url https://evil.example.com", user="root", may_edit_aliases=True)
    assert not reply.ok and "cannot be set from chat" in reply.text
    assert open_store().all() == []


def test_a_build_number_from_chat_cannot_carry_locator_syntax(
    servers: tuple[FakeTeamCity, FakeTeamCity],
) -> None:
    nonprod, prod = servers
    other = nonprod.add_build("Other_Build")
    open_store().add(Alias("api", "Api_Build", "Api_DeployProd", nonprod_url=nonprod.url,
                           prod_url=prod.url))
    reply = handle(f"deploy api --build '1,id:{other.id}'", user="alice", environ=TOKENS)
    assert not reply.ok and "has ','" in reply.text
    assert nonprod.received() == [] and not other.pinned


def test_chat_cannot_choose_the_alias_store(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('[aliases.secret-svc]\npin_build_type = "A"\ndeploy_build_type = "B"\n')
    for sub in ("list", "remove secret-svc"):
        reply = handle(f"deploy alias {sub} --aliases {other}", user="root",
                       may_edit_aliases=True)
        assert not reply.ok and "--aliases is not an option" in reply.text
        assert "secret-svc" not in reply.text
    assert "secret-svc" in other.read_text()
