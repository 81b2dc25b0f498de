"""Params are data: one declaration gives the CLI option, the meta-runner field and the docs row.

A param named ``build_number`` is the option ``--build-number``, the environment variable
``DEPLOYTRAIL_BUILD_NUMBER`` and the meta-runner field ``env.DEPLOYTRAIL_BUILD_NUMBER``.
Params several steps share are declared once below, as groups.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not imported at start-up: ``--help`` must stay fast
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Literal

    Kind = Literal["text", "password", "checkbox", "select"]
    #: Checks one value; returns a problem sentence, or None when the value is fine.
    Check = Callable[[str], str | None]

__all__ = [
    "BUILD",
    "CHAT",
    "CHECK",
    "EVENTS",
    "PYTHON",
    "RECORD",
    "RELEASE_IDENTITY",
    "Args",
    "Param",
]


class Param:
    """One input of a step.

    ``multiple``: given several times on the command line, whitespace-separated in the
    environment. ``positional``: a positional argument (still readable from the environment).
    ``label``: the TeamCity UI label (derived from the name when empty). ``check``: validates one
    value. ``cli_only``: not offered in the meta-runner. ``teamcity_default``: the meta-runner
    field's value when it differs from ``default``, usually a predefined TeamCity reference
    such as ``%build.number%``.
    """

    __slots__ = ("check", "choices", "cli_only", "default", "help", "kind", "label", "multiple",
                 "name", "positional", "required", "teamcity_default")

    def __init__(
        self,
        name: str,
        help: str,
        kind: Kind = "text",
        *,
        required: bool = False,
        default: str | None = None,
        choices: tuple[str, ...] = (),
        multiple: bool = False,
        positional: bool = False,
        label: str = "",
        check: Check | None = None,
        cli_only: bool = False,
        teamcity_default: str = "",
    ) -> None:
        self.name = name
        self.help = help
        self.kind: Kind = kind
        self.required = required
        self.default = default
        self.choices = choices
        self.multiple = multiple
        self.positional = positional
        self.label = label
        self.check = check
        self.cli_only = cli_only
        self.teamcity_default = teamcity_default

    def __repr__(self) -> str:
        return f"Param({self.name!r}, kind={self.kind!r})"

    def but(self, **changes: object) -> Param:
        """A copy with some attributes changed: ``CHAT[0].but(check=None)``."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        name, help_text = values.pop("name"), values.pop("help")
        return Param(str(name), str(help_text), **values)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env_var(self) -> str:
        return "DEPLOYTRAIL_" + self.name.upper()

    @property
    def secret(self) -> bool:
        return self.kind == "password"

    @property
    def ui_label(self) -> str:
        """``jira_ca_bundle`` → ``JIRA CA bundle:`` (names and acronyms keep their spelling)."""
        if self.label:
            return self.label
        words = [_LABEL_WORDS.get(word, word) for word in self.name.split("_")]
        return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]]) + ":"


_LABEL_WORDS = {"url": "URL", "github": "GitHub", "jira": "JIRA", "teamcity": "TeamCity",
                "ca": "CA", "id": "ID", "nonprod": "non-prod", "json": "JSON", "http": "HTTP",
                "redis": "Redis", "kibana": "Kibana", "logstash": "Logstash"}


class Args:
    """The validated values of a step's params (strings, booleans or lists of strings).

    ``command`` holds the words after ``--`` (``deploytrail release -- ./deploy.sh``).
    """

    __slots__ = ("command", "values")

    def __init__(
        self,
        values: Mapping[str, str | bool | list[str] | None],
        command: Sequence[str] = (),
    ) -> None:
        self.values = values
        self.command = command

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        raise TypeError(f"param {name!r} is not a text param")

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise TypeError(f"param {name!r} was validated as required but is empty")
        return value

    def flag(self, name: str) -> bool:
        return bool(self.values.get(name))

    def many(self, name: str) -> list[str]:
        value = self.values.get(name)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [str(value)]


def resolve(
    params: Sequence[Param],
    given: Mapping[str, object],
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, str | bool | list[str] | None], list[str]]:
    """Merge command-line values, the environment and defaults; return values and all problems."""
    env = os.environ if environ is None else environ
    values: dict[str, str | bool | list[str] | None] = {}
    problems: list[str] = []
    for param in params:
        raw = given.get(param.name)
        if param.kind == "checkbox":
            values[param.name] = bool(raw) or _truthy(env.get(param.env_var, param.default or ""))
            continue
        if param.multiple:
            items = [str(v) for v in raw] if isinstance(raw, list) and raw else []
            if not items:
                items = env.get(param.env_var, "").split() or (
                    param.default.split() if param.default else []
                )
            for item in items:
                problems.extend(_check(param, item))
            if param.required and not items:
                problems.append(_missing(param))
            values[param.name] = items
            continue
        text = raw if isinstance(raw, str) and raw != "" else None
        if text is None:
            text = env.get(param.env_var) or param.default
        if text is None or text == "":
            if param.required:
                problems.append(_missing(param))
            values[param.name] = None
            continue
        problems.extend(_check(param, text))
        values[param.name] = text
    return values, problems


def _truthy(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def _missing(param: Param) -> str:
    where = param.name.upper() if param.positional else param.option
    return f"{where} is required (or set {param.env_var})"


def _check(param: Param, value: str) -> list[str]:
    shown = param.name.upper() if param.positional else param.option
    if param.choices and value not in param.choices:
        return [f"{shown}: {value!r} is not one of {', '.join(param.choices)}"]
    if param.check is not None:
        problem = param.check(value)
        if problem:
            return [f"{shown}: {problem}"]
    return []


# --- shared param groups ------------------------------------------------------------------

#: Generators (meta-runners, docs, Kibana files): compare instead of writing.
CHECK = Param(
    "check", "Only compare the committed files with a fresh render; fail naming each that "
    "differs.", kind="checkbox",
)

#: The interpreter a meta-runner calls; a virtualenv's python works too.
PYTHON = (
    Param(
        "python",
        "Python executable that has deploytrail installed (a virtualenv's python works; "
        "on Windows agents use 'py' or 'python').",
        default="python3",
        label="Python executable:",
    ),
)

RECORD = (
    Param(
        "record",
        "Release record file shared by the steps of one deployment.",
        default=".deploytrail/release.json",
    ),
)

RELEASE_IDENTITY = (
    Param("service", "Name of the service being deployed, e.g. api.", required=True),
    Param("env", "Environment deployed to, e.g. production.", required=True, label="Environment:"),
)

BUILD = (
    Param(
        "build_number",
        "Build number of the release.",
        teamcity_default="%build.number%",
    ),
    Param(
        "build_url",
        "Link to the build that deploys.",
        teamcity_default="%teamcity.serverUrl%/viewLog.html?buildId=%teamcity.build.id%",
    ),
    Param(
        "triggered_by",
        "Who started the deployment.",
        teamcity_default="%teamcity.build.triggeredBy.username%",
    ),
)

EVENTS = (
    Param(
        "events",
        "Where deploy events go: file:PATH, redis://HOST:PORT/DB?key=NAME, rediss://…, "
        "logstash+tcp://HOST:PORT, logstash+udp://HOST:PORT. Several allowed.",
        multiple=True,
    ),
    Param("redis_password", "Password for the Redis event sink.", kind="password"),
)

def _chat_url_problem(url: str) -> str | None:
    from deploytrail.clients.chat import chat_url_problem

    return chat_url_problem(url)


#: Webhook URLs carry tokens: a TeamCity password field, masked in the build log, and every
#: URL checked before anything is sent.
CHAT = (
    Param(
        "chat",
        "Chat targets as Apprise URLs (slack://…, mmost://…, workflows://…, gchat://…, "
        "discord://…, json://…) or 'console'. Several allowed. Webhook URLs hold tokens: "
        "kept as a secret.",
        "password",
        multiple=True,
        default="console",
        check=_chat_url_problem,
    ),
)
