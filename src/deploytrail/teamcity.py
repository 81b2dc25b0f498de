"""Report progress: TeamCity service messages under TeamCity, readable text elsewhere.

Under TeamCity (``TEAMCITY_VERSION`` set) every value goes through :func:`escape`, which adds
non-ASCII and line-separator escaping to the library's, so text from a commit message such as
``##teamcity[buildStop]`` or ``']`` can never end a value early or start a new message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Protocol

from deploytrail.redact import redact

__all__ = ["PlainReporter", "Reporter", "TeamCityReporter", "escape", "reporter_for"]

_QUOTE = {"'": "|'", "|": "||", "\n": "|n", "\r": "|r", "[": "|[", "]": "|]"}
_SPECIAL = {"\u0085": "|x", "\u2028": "|l", "\u2029": "|p"}


def escape(value: str) -> str:
    """Escape ``value`` for a service message, as JetBrains' own libraries do."""
    out = []
    for char in value:
        if char in _QUOTE:
            out.append(_QUOTE[char])
        elif char in _SPECIAL:
            out.append(_SPECIAL[char])
        elif ord(char) > 127:
            out.append(f"|0x{ord(char):04x}" if ord(char) <= 0xFFFF else _surrogates(char))
        else:
            out.append(char)
    return "".join(out)


def _surrogates(char: str) -> str:
    code = ord(char) - 0x10000
    return f"|0x{0xD800 + (code >> 10):04x}|0x{0xDC00 + (code & 0x3FF):04x}"


class Reporter(Protocol):
    """How a step tells the user (or TeamCity) what it is doing."""

    under_teamcity: bool

    def block(self, name: str, description: str = "") -> AbstractContextManager[None]: ...

    def progress(self, text: str) -> None: ...

    def info(self, text: str) -> None: ...

    def json(self, data: object) -> None: ...

    def warning(self, text: str) -> None: ...

    def problem(self, text: str, identity: str | None = None) -> None: ...

    def set_parameter(self, name: str, value: str) -> None: ...

    def status(self, text: str) -> None: ...

    def publish(self, path: str) -> None: ...

    def tag(self, tag: str) -> None: ...


class PlainReporter:
    """Readable text on stderr; results a user asked for go to stdout through ``info``."""

    under_teamcity = False

    def __init__(self, err: IO[str] | None = None, out: IO[str] | None = None) -> None:
        self._err = err or sys.stderr
        self._out = out or sys.stdout

    def _say(self, text: str) -> None:
        self._err.write(redact(text) + "\n")
        self._err.flush()

    @contextmanager
    def block(self, name: str, description: str = "") -> Iterator[None]:
        self._say(f"▶ {name}" + (f": {description}" if description else ""))
        yield

    def progress(self, text: str) -> None:
        self._say(f"  {text}")

    def info(self, text: str) -> None:
        self._out.write(redact(text) + "\n")
        self._out.flush()

    def json(self, data: object) -> None:
        """A result as JSON on stdout, for machines (``--format json``)."""
        import json

        self.info(json.dumps(data, indent=2, ensure_ascii=False))

    def warning(self, text: str) -> None:
        self._say(f"warning: {text}")

    def problem(self, text: str, identity: str | None = None) -> None:
        self._say(f"error: {text}")

    def set_parameter(self, name: str, value: str) -> None:
        self._say(f"  {name} = {value}")

    def status(self, text: str) -> None:
        self._say(f"  status: {text}")

    def publish(self, path: str) -> None:
        self._say(f"  wrote {path}")

    def tag(self, tag: str) -> None:
        self._say(f"  tag: {tag}")


class TeamCityReporter:
    """Service messages on stdout, through the ``teamcity-messages`` library."""

    under_teamcity = True

    def __init__(self, out: IO[str] | None = None) -> None:
        from teamcity.messages import TeamcityServiceMessages

        class _Messages(TeamcityServiceMessages):  # type: ignore[misc]
            def escapeValue(self, value: str) -> str:  # noqa: N802 (library's name)
                return escape(redact(self.decode(value)))

        self._out = out or sys.stdout
        self._messages = _Messages(output=self._out)

    @contextmanager
    def block(self, name: str, description: str = "") -> Iterator[None]:
        self._messages.message("blockOpened", name=name, description=description or None)
        try:
            yield
        finally:
            self._messages.message("blockClosed", name=name)

    def progress(self, text: str) -> None:
        self._messages.progressMessage(text)

    def info(self, text: str) -> None:
        self._messages.message("message", text=text, status="NORMAL")

    def json(self, data: object) -> None:
        """Plain JSON on stdout, still machine-readable inside a build log. TeamCity finds
        ``##teamcity[`` anywhere in a line, so every ``#`` (only ever inside a string here) is
        written ``\\u0023``: the same JSON value, and no text from a commit can form a message."""
        import json

        text = json.dumps(data, ensure_ascii=True).replace("#", "\\u0023")
        self._out.write(redact(text) + "\n")
        self._out.flush()

    def warning(self, text: str) -> None:
        self._messages.message("message", text=text, status="WARNING")

    def problem(self, text: str, identity: str | None = None) -> None:
        self._messages.buildProblem(text[:4000], identity)

    def set_parameter(self, name: str, value: str) -> None:
        # a parameter's value is read for %references%: a literal percent is written %%
        self._messages.setParameter(name, value.replace("%", "%%"))

    def status(self, text: str) -> None:
        self._messages.message("buildStatus", text=f"{{build.status.text}}; {text}")

    def publish(self, path: str) -> None:
        self._messages.publishArtifacts(path)

    def tag(self, tag: str) -> None:
        self._messages._single_value_message("addBuildTag", tag)


def reporter_for(environ: dict[str, str] | None = None) -> Reporter:
    """TeamCity messages when running under TeamCity, plain text otherwise."""
    env = os.environ if environ is None else environ
    if env.get("TEAMCITY_VERSION"):
        return TeamCityReporter()
    return PlainReporter()
