"""The running TeamCity build as its agent describes it: the build properties file.

The agent writes a Java properties file for every build and points
``TEAMCITY_BUILD_PROPERTIES_FILE`` at it. It holds the build id and per-build credentials
(``teamcity.build.id``, ``teamcity.auth.userId``, ``teamcity.auth.password``); the server URL
(``teamcity.serverUrl``) is in the configuration properties file it names
(``teamcity.configuration.properties.file``), or in the file itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunningBuild", "read_properties", "running_build"]

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


@dataclass(frozen=True)
class RunningBuild:
    """What is needed to ask the server about this build (``server_url`` may be unknown)."""

    build_id: str
    username: str
    password: str
    server_url: str | None

    def __repr__(self) -> str:  # never show the build password
        return f"RunningBuild(build_id={self.build_id!r}, server_url={self.server_url!r})"


def running_build(environ: dict[str, str] | None = None) -> RunningBuild | None:
    """The running build from its properties file, or None when not in a TeamCity build (or the
    file lacks the build id or credentials)."""
    env = os.environ if environ is None else environ
    path = env.get("TEAMCITY_BUILD_PROPERTIES_FILE")
    if not path:
        return None
    try:
        props = read_properties(Path(path))
    except OSError:
        return None
    server = props.get("teamcity.serverUrl")
    config_file = props.get("teamcity.configuration.properties.file")
    if not server and config_file:
        try:
            server = read_properties(Path(config_file)).get("teamcity.serverUrl")
        except OSError:
            server = None
    build_id = props.get("teamcity.build.id")
    user, password = props.get("teamcity.auth.userId"), props.get("teamcity.auth.password")
    if not build_id or not user or password is None:
        return None
    return RunningBuild(build_id, user, password, server or None)


def read_properties(path: Path) -> dict[str, str]:
    """A Java ``.properties`` file: ``key=value``, ``key: value`` or ``key value`` lines,
    ``#``/``!`` comments, backslash escapes (``\\:``, ``\\=``, ``\\uXXXX``…) and continued lines."""
    props: dict[str, str] = {}
    pending = ""
    for raw in path.read_text(encoding="latin-1").splitlines():
        line = raw.lstrip()
        if not pending and (not line or line[0] in "#!"):
            continue
        if _continues(line):
            pending += line[:-1]
            continue
        key, value = _split(pending + line)
        pending = ""
        props[key] = value
    if pending:
        key, value = _split(pending)
        props[key] = value
    return props


def _continues(line: str) -> bool:
    backslashes = len(line) - len(line.rstrip("\\"))
    return backslashes % 2 == 1


def _split(line: str) -> tuple[str, str]:
    index, length = 0, len(line)
    while index < length:
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char in "=: \t\f":
            break
        index += 1
    key = line[:index]
    rest = line[index:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return _unescape(key), _unescape(rest)


def _unescape(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\" or index + 1 >= len(text):
            out.append(char)
            index += 1
            continue
        nxt = text[index + 1]
        if nxt == "u" and index + 6 <= len(text):
            try:
                out.append(chr(int(text[index + 2:index + 6], 16)))
                index += 6
                continue
            except ValueError:
                pass
        out.append(_ESCAPES.get(nxt, nxt))
        index += 2
    return "".join(out)
