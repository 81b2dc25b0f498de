"""The chat commands, free of any chat system: text in, reply out.

    deploy ALIAS [--build NUMBER]   pin the newest green non-prod build, queue production
    deploy ALIAS --dry-run          what would be pinned, and the commits that would go out
    deploy alias add NAME --pin-build-type ID --deploy-build-type ID [...]
    deploy alias list | deploy alias remove NAME
    deploy help

The Errbot plugin is a thin shell around :func:`handle`; so would a Slack Bolt app be.
Tokens come from the bot's environment (``DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN``,
``DEPLOYTRAIL_PROD_TEAMCITY_TOKEN``), never from chat.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deploytrail.errors import AccessDenied, DeploytrailError, InputError
from deploytrail.params import Args, Param, resolve
from deploytrail.steps.alias import locator_check

if TYPE_CHECKING:
    from deploytrail.clients.aliases import Alias
    from deploytrail.promotion import Promotion

__all__ = ["HELP", "Reply", "handle"]

HELP = """\
deploy ALIAS — pin the newest green build of ALIAS (finished, SUCCESS, no failed tests; muted \
failures are shown and do not block) and queue its production deployment
deploy ALIAS --build NUMBER — promote that build instead (it must be green too)
deploy ALIAS --dry-run — show the build that would go out and its commits; change nothing
deploy alias list — the aliases and who may use them
deploy alias add NAME --pin-build-type ID --deploy-build-type ID \
[--branch NAME] [--allow-user U]... [--allow-room R]... [--source github:OWNER/REPO] — \
admins only; server URLs come from the bot's environment or the command line
deploy alias remove NAME — admins only
deploy help — this text"""


@dataclass(frozen=True)
class Reply:
    """What the bot answers; ``ok`` is False when nothing (more) happened because of an error."""

    text: str
    ok: bool = True
    lines: tuple[str, ...] = field(default=(), compare=False)


class _Collect:
    """A Reporter that keeps the lines a step would print for the user."""

    under_teamcity = False

    def __init__(self) -> None:
        self.lines: list[str] = []

    def block(self, name: str, description: str = "") -> _Null:
        return _Null()

    def info(self, text: str) -> None:
        self.lines.append(text)

    def json(self, data: object) -> None:
        import json

        self.lines.append(json.dumps(data, ensure_ascii=False))

    def warning(self, text: str) -> None:
        self.lines.append(f"warning: {text}")

    def progress(self, text: str) -> None: ...

    def problem(self, text: str, identity: str | None = None) -> None: ...

    def set_parameter(self, name: str, value: str) -> None: ...

    def status(self, text: str) -> None: ...

    def publish(self, path: str) -> None: ...

    def tag(self, tag: str) -> None: ...


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def handle(text: str, *, user: str, room: str | None = None, may_edit_aliases: bool = False,
           aliases: str | None = None, environ: Mapping[str, str] | None = None) -> Reply:
    """Run one chat command for ``user`` in ``room`` (None: a direct message)."""
    from deploytrail.redact import redact, secret_values

    env = os.environ if environ is None else environ
    store = aliases or env.get("DEPLOYTRAIL_ALIASES") or None
    try:
        words = shlex.split(text)
    except ValueError as exc:
        return Reply(f"cannot read that command: {exc}", ok=False)
    if words and words[0].lstrip("!/") == "deploy":
        words = words[1:]
    try:
        reply = _dispatch(words, user=user, room=room, may_edit=may_edit_aliases, store=store,
                          env=env)
    except DeploytrailError as error:
        text = str(error).replace("\n  → ", "\n→ ")
        reply = Reply(text, ok=False)
    return Reply(redact(reply.text, secret_values(dict(env))), reply.ok)


def _dispatch(words: list[str], *, user: str, room: str | None, may_edit: bool,
              store: str | None, env: Mapping[str, str]) -> Reply:
    from deploytrail.clients.aliases import open_store
    from deploytrail.steps import alias as alias_step

    if not words or words[0] in {"help", "--help", "-h"}:
        return Reply(HELP)
    if words[0] == "alias":
        sub = words[1] if len(words) > 1 else "list"
        steps = {"add": alias_step.ADD, "list": alias_step.LIST, "remove": alias_step.REMOVE}
        if sub not in steps:
            raise InputError(f"'deploy alias {sub}' is not a command", hint="deploy help")
        if sub != "list" and not may_edit:
            raise AccessDenied(f"{user} may not change aliases: only bot admins may",
                               hint="ask an admin, or use 'deploytrail alias' on the command line")
        step = steps[sub]
        if sub == "add" and {"--nonprod-url", "--prod-url"} & set(words):
            # The bot sends its tokens to these servers: chat must not be able to move them.
            raise AccessDenied("server URLs cannot be set from chat: the bot would send its "
                               "TeamCity tokens there",
                               hint="set them with 'deploytrail alias add' on the command line, "
                               "or DEPLOYTRAIL_NONPROD_TEAMCITY_URL / "
                               "DEPLOYTRAIL_PROD_TEAMCITY_URL in the bot's environment")
        args = _parse(step.params, words[2:], f"deploy alias {sub}", store)
        collect = _Collect()
        step.run(args, collect)
        return Reply("\n".join(collect.lines), lines=tuple(collect.lines))
    name, options = words[0], _parse(_PROMOTE, words[1:], f"deploy {words[0]}", None)
    alias = open_store(store).get(name)
    return _promote(alias, options, user=user, room=room, env=env)


_PROMOTE = (
    Param("build", "Build number.", check=locator_check),
    Param("dry_run", "Change nothing.", kind="checkbox"),
)


def _promote(alias: Alias, options: Args, *, user: str, room: str | None,
             env: Mapping[str, str]) -> Reply:
    from deploytrail.promotion import promote

    dry_run = options.flag("dry_run")
    result = promote(
        alias, user=user, room=room, number=options.text("build"), dry_run=dry_run,
        nonprod_token=env.get("DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN"),
        prod_token=env.get("DEPLOYTRAIL_PROD_TEAMCITY_TOKEN"),
        nonprod_url=env.get("DEPLOYTRAIL_NONPROD_TEAMCITY_URL"),
        prod_url=env.get("DEPLOYTRAIL_PROD_TEAMCITY_URL"), command="deploy",
    )
    lines = result.lines()
    if dry_run:
        lines += _commits(result)
    return Reply("\n".join(lines), lines=tuple(lines))


def _commits(result: Promotion) -> list[str]:
    """The commits that would go out, from the changelog step, when the alias names a source."""
    from deploytrail.record import ReleaseRecord
    from deploytrail.render.changelog import render_markdown
    from deploytrail.steps.changelog import find_changes

    alias = result.alias
    if not alias.source:
        return [f"(add --source github:OWNER/REPO to alias {alias.name} to list the commits "
                f"up to {result.build.revision})"]
    if not result.build.revision:
        return ["(TeamCity reports no revision for this build: cannot list its commits)"]
    service = alias.service or alias.name
    record = ReleaseRecord(service=service, environment="production",
                           revision=result.build.revision)
    try:
        changes = find_changes(record, source=alias.source, previous=alias.previous or "ledger")
    except DeploytrailError as error:
        return [f"(could not list the commits: {error.message})"]
    return [render_markdown(service, "production", changes)]


def _parse(params: Sequence[Param], words: list[str], command: str,
           store: str | None) -> Args:
    """Chat words → validated Args; nothing is read from the bot's environment."""
    # The alias store is the bot's: from chat it could point the bot (and its Redis password)
    # at any server, or read any file on the bot's host.
    by_option = {p.option: p for p in params if not p.positional and p.name != "aliases"}
    positional = [p for p in params if p.positional]
    given: dict[str, object] = {"aliases": store}
    problems: list[str] = []
    rest = iter(words)
    for word in rest:
        param = by_option.get(word)
        if param is None and word.startswith("--"):
            problems.append(f"{word} is not an option of '{command}'")
        elif param is None:
            if positional:
                given[positional.pop(0).name] = word
            else:
                problems.append(f"unexpected word {word!r}")
        elif param.kind == "checkbox":
            given[param.name] = True
        else:
            value = next(rest, None)
            if value is None:
                problems.append(f"{word} needs a value")
            elif param.multiple:
                values = given.setdefault(param.name, [])
                assert isinstance(values, list)
                values.append(value)
            else:
                given[param.name] = value
    values, more = resolve(params, given, environ={})
    problems += more
    if problems:
        raise InputError(f"{command}: " + "; ".join(problems), hint="deploy help")
    return Args(values)
