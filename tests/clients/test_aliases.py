"""Alias stores: a TOML file in the state directory, or a Redis hash shared by a team."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deploytrail.clients.aliases import (
    Alias,
    RedisAliasStore,
    TomlAliasStore,
    check_name,
    open_store,
)
from deploytrail.errors import ConfigError, UnknownAlias
from fakes.redis import RedisServer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

API = Alias("api", "Api_Build", "Api_DeployProd", nonprod_url="https://tc-dev.example.com",
            prod_url="https://tc.example.com", branch="main", allow_users=("alice", "ops-*"),
            allow_rooms=("#deploys",))
ODD = Alias("web.v2", 'Web "quoted" \\ \x7f\t', "Web_Prod", allow_users=("zoë",))


@pytest.mark.parametrize("kind", ["toml", "redis"])
def test_an_alias_round_trips_through_the_store(
    kind: str, tmp_path: Path, redis_db: RedisServer
) -> None:
    store = open_store(str(tmp_path / "a.toml") if kind == "toml" else redis_db.url)
    store.add(API)
    store.add(ODD)
    assert store.get("api") == API
    assert store.get("web.v2") == ODD
    assert [a.name for a in store.all()] == ["api", "web.v2"]
    assert store.remove("api") is True
    assert store.remove("api") is False
    with pytest.raises(UnknownAlias, match=r"Never heard of it.*known: web\.v2"):
        store.get("api")


def test_the_default_store_is_a_toml_file_in_the_state_directory(tmp_path: Path) -> None:
    store = open_store(None)
    store.add(API)
    path = tmp_path / "state" / "aliases.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["aliases"]["api"]["pin_build_type"] == "Api_Build"
    assert data["aliases"]["api"]["allow_users"] == ["alice", "ops-*"]


def test_the_toml_file_holds_odd_characters_as_valid_toml(tmp_path: Path) -> None:
    store = TomlAliasStore(tmp_path / "a.toml")
    store.add(ODD)
    data = tomllib.loads((tmp_path / "a.toml").read_text(encoding="utf-8"))
    assert data["aliases"]["web.v2"]["pin_build_type"] == ODD.pin_build_type


def test_a_broken_toml_file_is_a_clear_config_error(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text("[aliases.api\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        TomlAliasStore(tmp_path / "a.toml").all()


def test_a_redis_store_is_one_hash_shared_by_every_client(redis_db: RedisServer) -> None:
    RedisAliasStore(redis_db.url + "?key=team:aliases").add(API)
    assert RedisAliasStore(redis_db.url + "?key=team:aliases").get("api") == API
    assert redis_db.client().hkeys("team:aliases") == [b"api"]


def test_a_stopped_redis_is_service_unavailable(own_redis: RedisServer) -> None:
    from deploytrail.errors import ServiceUnavailable

    store = RedisAliasStore(own_redis.url)
    own_redis.stop()
    with pytest.raises(ServiceUnavailable, match="Redis alias store"):
        store.all()


def test_access_lists_match_names_globs_and_ignore_prefixes() -> None:
    assert API.allows_user("alice") and API.allows_user("@Alice") and API.allows_user("ops-bob")
    assert not API.allows_user("mallory")
    assert API.allows_room("deploys") and API.allows_room("#deploys")
    assert not API.allows_room("#random") and not API.allows_room(None)
    assert ODD.allows_room(None) and ODD.allows_room("#anything")


def test_alias_names_are_checked() -> None:
    assert check_name("api") is None and check_name("billing-eu.v2") is None
    assert check_name("Api Prod") and check_name("help") and check_name("alias")
    assert check_name("deploy")  # "!deploy deploy" would be read as "!deploy"


def test_an_unknown_store_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown alias store"):
        open_store("mongodb://x")
