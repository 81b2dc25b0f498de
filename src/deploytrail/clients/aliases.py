"""Deploy aliases: a short name for "pin this non-prod build type, queue that production one".

Stored in a TOML file in the user's state directory (default), or in a Redis hash shared by a
team (``redis://HOST:PORT/DB?key=NAME``). Tokens are never stored: they come only from
``DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN`` and ``DEPLOYTRAIL_PROD_TEAMCITY_TOKEN``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
import uuid
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from deploytrail.errors import ConfigError, ServiceError, ServiceUnavailable, UnknownAlias

__all__ = ["Alias", "AliasStore", "RedisAliasStore", "TomlAliasStore", "check_name", "open_store"]

NAME = re.compile(r"[a-z0-9][-_.a-z0-9]{0,63}")
RESERVED = {"alias", "deploy", "help"}  # "deploy deploy" would read as "deploy"
DEFAULT_REDIS_KEY = "deploytrail:aliases"


def check_name(name: str) -> str | None:
    """A problem with an alias name, or None ("api", "billing-eu", "web.v2" are fine)."""
    if not NAME.fullmatch(name):
        return f"{name!r} is not an alias name: use lowercase letters, digits, '-', '_', '.'"
    if name in RESERVED:
        return f"{name!r} is a chat command word, not an alias name"
    return None


@dataclass(frozen=True)
class Alias:
    """What ``deploy NAME`` pins and queues, and who may do it."""

    name: str
    pin_build_type: str
    deploy_build_type: str
    nonprod_url: str | None = None
    prod_url: str | None = None
    branch: str | None = None
    allow_users: tuple[str, ...] = ()
    allow_rooms: tuple[str, ...] = ()
    #: For ``deploy NAME --dry-run`` in chat: where the commits come from (``github:OWNER/REPO``
    #: or ``git:PATH``), where the previous release comes from, and the service's name.
    source: str | None = None
    previous: str | None = None
    service: str | None = None

    def allows_user(self, user: str) -> bool:
        """Anyone when no user is listed; else a listed name or glob (``@`` prefixes ignored)."""
        return not self.allow_users or _listed(user, self.allow_users)

    def allows_room(self, room: str | None) -> bool:
        """Any room when none is listed; else only a listed room (a direct message is none)."""
        if not self.allow_rooms:
            return True
        return room is not None and _listed(room, self.allow_rooms)

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(self).items() if v not in (None, (), [])}

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any], source: str) -> Alias:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "name"}
        for key in ("allow_users", "allow_rooms"):
            values[key] = tuple(str(v) for v in values.get(key) or ())
        try:
            return cls(name=name, **values)
        except TypeError as exc:
            raise ConfigError(f"alias {name!r} in {source} is incomplete: {exc}",
                              hint=f"remove it and add it again with 'deploytrail alias add "
                              f"{name} --pin-build-type … --deploy-build-type …'") from None


def _listed(who: str, patterns: tuple[str, ...]) -> bool:
    def norm(text: str) -> str:
        return text.strip().lstrip("@#").lower()

    return any(fnmatch.fnmatchcase(norm(who), norm(p)) for p in patterns)


class AliasStore(Protocol):
    where: str

    def get(self, name: str) -> Alias: ...

    def all(self) -> list[Alias]: ...

    def add(self, alias: Alias) -> None: ...

    def remove(self, name: str) -> bool: ...


def open_store(spec: str | None = None) -> AliasStore:
    """``None`` → the TOML file in the state directory; ``redis://…``; a path or ``file:PATH``."""
    if not spec:
        from deploytrail.paths import state_dir

        return TomlAliasStore(state_dir() / "aliases.toml")
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisAliasStore(spec)
    if spec.startswith("file:"):
        return TomlAliasStore(Path(spec[5:]))
    if "://" in spec:
        raise ConfigError(f"--aliases {spec.split('://')[0]}://…: unknown alias store",
                          hint="use a TOML file path, file:PATH or redis://HOST:PORT/DB")
    return TomlAliasStore(Path(spec))


def _unknown(name: str, where: str, known: list[str]) -> UnknownAlias:
    listing = ", ".join(known) if known else "none yet"
    return UnknownAlias(f"{name}? Never heard of it: no alias {name!r} in {where} "
                        f"(known: {listing})",
                        hint=f"add it with 'deploytrail alias add {name} --pin-build-type ID "
                        "--deploy-build-type ID'")


class TomlAliasStore:
    """``[aliases.NAME]`` tables in one TOML file, rewritten atomically on each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    def _read(self) -> dict[str, Alias]:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"alias file {self.path} is not valid TOML: {exc}",
                              hint="fix or delete the file") from None
        tables = data.get("aliases") or {}
        return {n: Alias.from_json(n, v, self.where) for n, v in tables.items()
                if isinstance(v, dict)}

    def get(self, name: str) -> Alias:
        aliases = self._read()
        if name not in aliases:
            raise _unknown(name, self.where, sorted(aliases))
        return aliases[name]

    def all(self) -> list[Alias]:
        return [a for _, a in sorted(self._read().items())]

    def add(self, alias: Alias) -> None:
        aliases = self._read()
        aliases[alias.name] = alias
        self._write(aliases)

    def remove(self, name: str) -> bool:
        aliases = self._read()
        if aliases.pop(name, None) is None:
            return False
        self._write(aliases)
        return True

    def _write(self, aliases: dict[str, Alias]) -> None:
        lines = ["# deploytrail deploy aliases: edit with 'deploytrail alias add|remove'.",
                 "# No tokens here: they come from DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN and",
                 "# DEPLOYTRAIL_PROD_TEAMCITY_TOKEN.", ""]
        for name, alias in sorted(aliases.items()):
            lines.append(f"[aliases.{_toml_string(name)}]")
            for key, value in alias.to_json().items():
                if key == "name":
                    continue
                if isinstance(value, list):
                    lines.append(f"{key} = [{', '.join(_toml_string(v) for v in value)}]")
                else:
                    lines.append(f"{key} = {_toml_string(str(value))}")
            lines.append("")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text("\n".join(lines), encoding="utf-8")
        os.replace(tmp, self.path)


def _toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, plus DEL, which TOML wants escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


class RedisAliasStore:
    """One Redis hash: field = alias name, value = the alias as JSON."""

    def __init__(self, url: str) -> None:
        import redis

        from deploytrail.redact import mask_url

        query = parse_qs(urlsplit(url).query)
        self.key = (query.get("key") or [DEFAULT_REDIS_KEY])[0]
        clean = url.split("?", 1)[0]
        self.where = f"{mask_url(clean)} (hash {self.key})"
        password = os.environ.get("DEPLOYTRAIL_REDIS_PASSWORD") or None
        self._redis = redis.Redis.from_url(clean, socket_timeout=5, socket_connect_timeout=5,
                                           **({"password": password} if password else {}))

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        import redis

        try:
            return fn(*args)
        except redis.ConnectionError as exc:
            raise ServiceUnavailable("Redis alias store", f"could not {what} at {self.where}: "
                                     f"{type(exc).__name__}",
                                     hint="check that the Redis server is running") from None
        except redis.RedisError as exc:
            raise ServiceError("Redis alias store", f"could not {what} at {self.where}: {exc}"
                               ) from None

    def _decode(self, name: str, raw: bytes) -> Alias:
        try:
            data = json.loads(raw)
        except ValueError:
            raise ConfigError(f"alias {name!r} in {self.where} is not JSON",
                              hint=f"remove it: deploytrail alias remove {name}") from None
        return Alias.from_json(name, data, self.where)

    def get(self, name: str) -> Alias:
        raw = self._call("read alias", self._redis.hget, self.key, name)
        if raw is None:
            raise _unknown(name, self.where, [a.name for a in self.all()])
        return self._decode(name, raw)

    def all(self) -> list[Alias]:
        items = self._call("list aliases", self._redis.hgetall, self.key)
        return sorted((self._decode(k.decode(), v) for k, v in items.items()),
                      key=lambda a: a.name)

    def add(self, alias: Alias) -> None:
        self._call("save alias", self._redis.hset, self.key, alias.name,
                   json.dumps(alias.to_json(), sort_keys=True))

    def remove(self, name: str) -> bool:
        return bool(self._call("remove alias", self._redis.hdel, self.key, name))
