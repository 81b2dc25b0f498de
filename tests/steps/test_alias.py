"""deploytrail alias add|list|remove through the command line."""

from __future__ import annotations

import pytest

from deploytrail.cli import main
from deploytrail.clients.aliases import open_store
from fakes.redis import RedisServer

ADD = ["alias", "add", "api", "--pin-build-type", "Api_Build", "--deploy-build-type",
       "Api_DeployProd", "--nonprod-url", "https://tc-dev.example.com/",
       "--allow-user", "alice", "--allow-user", "bob", "--allow-room", "#deploys"]


def test_alias_add_then_list_then_remove(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(ADD) == 0
    alias = open_store().get("api")
    assert alias.nonprod_url == "https://tc-dev.example.com"
    assert alias.allow_users == ("alice", "bob") and alias.allow_rooms == ("#deploys",)
    capsys.readouterr()
    assert main(["alias", "list"]) == 0
    out = capsys.readouterr().out
    assert "api: pin Api_Build" in out and "Api_DeployProd" in out and "alice, bob" in out
    assert main(["alias", "remove", "api"]) == 0
    assert open_store().all() == []


def test_alias_add_reports_every_problem_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alias", "add", "Bad Name", "--nonprod-url", "ftp://x",
                 "--prod-url", "https://user:pw@tc.example.com"]) == 2
    err = capsys.readouterr().err
    assert "--pin-build-type is required" in err
    assert main(["alias", "add", "Bad Name", "--pin-build-type", "A", "--deploy-build-type",
                 "B", "--nonprod-url", "ftp://x", "--prod-url",
                 "https://user:pw@tc.example.com"]) == 2
    err = capsys.readouterr().err
    assert "not an alias name" in err and "not an http(s) URL" in err
    assert "no credentials in the URL" in err and "pw" not in err.replace("pw@", "")
    assert open_store().all() == []


def test_removing_an_unknown_alias_fails_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alias", "remove", "nope"]) == 1
    assert "no alias 'nope'" in capsys.readouterr().err


def test_aliases_can_live_in_a_redis_hash(redis_db: RedisServer) -> None:
    assert main([*ADD, "--aliases", redis_db.url]) == 0
    assert redis_db.client().hexists("deploytrail:aliases", "api")
    assert open_store().all() == []


def test_build_type_ids_and_branches_that_would_break_a_locator_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["alias", "add", "api", "--pin-build-type", "Api_Build,pinned:any",
                 "--deploy-build-type", "Deploy to prod", "--branch", "fix(login"])
    err = capsys.readouterr().err
    assert code == 2 and "3 problem(s)" in err
    assert "'Api_Build,pinned:any' is not a TeamCity build configuration id" in err
    assert "'Deploy to prod' is not a TeamCity build configuration id" in err
    assert "--branch: 'fix(login' has '('" in err
    assert open_store().all() == []
