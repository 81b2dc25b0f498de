"""Promotion: choose the newest green non-prod build, pin and tag it, queue production.

Green means finished, status SUCCESS and no failed test. TeamCity counts a failed test that is
muted under ``muted``, not ``failed``: it is shown and does not block. Writes are never blindly
repeated (see :mod:`deploytrail.clients.teamcity`); every failure says what was and was not done.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deploytrail.errors import AccessDenied, InputError, NoGreenBuild, ServiceError

if TYPE_CHECKING:
    from deploytrail.clients.aliases import Alias
    from deploytrail.clients.teamcity import Build, QueuedBuild, TeamCityClient
    from deploytrail.teamcity import Reporter

__all__ = ["PROMOTED_TAG", "Promotion", "check_access", "choose_build", "promote"]

PROMOTED_TAG = "deploytrail-promoted"
#: How many recent builds are looked at to name the newest green one.
LOOKBACK = 20


@dataclass
class Promotion:
    """What a promotion chose and did; ``queued`` is None on a dry run."""

    alias: Alias
    build: Build
    requested_by: str
    nonprod_url: str
    prod_url: str
    muted: list[str] = field(default_factory=list)
    queued: QueuedBuild | None = None
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        b, a = self.build, self.alias
        rev = (b.revision or "?")[:12]
        verb = "pinned" if self.queued else "would pin"
        out = [f"{verb} {a.pin_build_type} #{b.number} ({rev}) on {self.nonprod_url}: "
               f"{b.web_url}"]
        if b.tests.muted:
            names = ", ".join(self.muted) if self.muted else "see the build's Tests tab"
            out.append(f"note: {b.tests.muted} muted test failure(s) in #{b.number}, which do "
                       f"not block a promotion: {names}")
        if self.queued:
            out.append(f"queued {a.deploy_build_type} on {self.prod_url}: {self.queued.web_url}")
        else:
            out.append(f"would queue {a.deploy_build_type} on {self.prod_url} with "
                       f"deploytrail.pinned.build_number={b.number}; nothing changed (dry run)")
        return out + [f"warning: {w}" for w in self.warnings]


def check_access(alias: Alias, user: str, room: str | None) -> None:
    if not alias.allows_user(user):
        raise AccessDenied(f"{user} is not allowed to deploy {alias.name}; nothing was pinned "
                           "or queued", hint=f"allowed: {', '.join(alias.allow_users)}")
    if not alias.allows_room(room):
        where = f"room {room}" if room else "a direct message"
        raise AccessDenied(f"{alias.name} is not allowed to be deployed from {where}; nothing "
                           "was pinned or queued",
                           hint=f"deploy from one of: {', '.join(alias.allow_rooms)}")


def choose_build(client: TeamCityClient, alias: Alias, number: str | None,
                 command: str = "deploytrail promote") -> Build:
    """The build to promote: ``number`` if it is green, else the newest build if it is green."""
    bt, branch = alias.pin_build_type, alias.branch
    on = f"on branch {branch}" if branch else "on the default branch"
    if number:
        build = client.build_by_number(bt, number, branch)
        if build is None:
            raise NoGreenBuild(f"there is no finished build #{number} of {bt} {on}")
        if not build.green:
            raise NoGreenBuild(f"build #{number} of {bt} cannot be promoted: "
                               f"{build.why_not_green()}")
        return build
    builds = client.latest_builds(bt, branch, count=LOOKBACK)
    if not builds:
        raise NoGreenBuild(f"{bt} has no finished build {on} on {client.base_url}; nothing "
                           "was pinned or queued")
    newest = builds[0]
    if newest.green:
        return newest
    green = next((b for b in builds if b.green), None)
    message = f"the newest build #{newest.number} of {bt} {on} is not green: " \
              f"{newest.why_not_green()}; nothing was pinned or queued"
    if green is None:
        raise NoGreenBuild(message, hint=f"none of the last {len(builds)} builds is green: "
                           "fix the build first")
    raise NoGreenBuild(message, hint=f"the newest green build is #{green.number} "
                       f"({(green.revision or '?')[:12]}); to promote it on purpose: "
                       f"{command} {alias.name} --build {green.number}")


def promote(alias: Alias, *, user: str, room: str | None = None, number: str | None = None,
            dry_run: bool = False, nonprod_token: str | None, prod_token: str | None,
            nonprod_url: str | None = None, prod_url: str | None = None,
            reporter: Reporter | None = None, command: str = "deploytrail promote") -> Promotion:
    """Check access, choose the build, pin and tag it, queue production (unless ``dry_run``)."""
    from deploytrail.clients.teamcity import TeamCityClient, WriteUnconfirmed

    check_access(alias, user, room)
    source = alias.nonprod_url or nonprod_url
    target = alias.prod_url or prod_url
    missing = [m for m, ok in (
        ("the non-prod TeamCity URL (alias --nonprod-url or --nonprod-teamcity-url)", source),
        ("the production TeamCity URL (alias --prod-url or --prod-teamcity-url)", target),
        ("DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN", nonprod_token),
        ("DEPLOYTRAIL_PROD_TEAMCITY_TOKEN", prod_token or dry_run)) if not ok]
    if missing or source is None or target is None:
        raise InputError(f"cannot promote {alias.name}: missing {', '.join(missing)}")
    nonprod = TeamCityClient(source, nonprod_token)
    build = choose_build(nonprod, alias, number, command)
    result = Promotion(alias, build, user, source, target)
    if build.tests.muted:
        with contextlib.suppress(ServiceError):  # the names are a courtesy; counts suffice
            result.muted = nonprod.muted_failures(build.id)
    if reporter:
        reporter.progress(f"chose {alias.pin_build_type} #{build.number} ({build.revision})")
    if dry_run:
        return result
    try:
        nonprod.pin(build, f"Promoted to production by {user} via deploytrail")
    except WriteUnconfirmed as error:
        raise _retold(error, "nothing was queued (the build may or may not be pinned)",
                      f"run '{command} {alias.name} --build {build.number}' again once "
                      f"{source} answers (pinning again is harmless)") from None
    except ServiceError as error:
        raise _retold(error, "nothing was pinned or queued",
                      f"run '{command} {alias.name}' again once {source} answers"
                      ) from None
    try:
        nonprod.add_tag(build, PROMOTED_TAG)
    except ServiceError as error:
        result.warnings.append(f"pinned, but could not tag it {PROMOTED_TAG}: {error.message}")
    properties = {
        "deploytrail.pinned.build_id": build.id,
        "deploytrail.pinned.build_number": build.number or "",
        "deploytrail.pinned.revision": build.revision or "",
        "deploytrail.triggered_by": user,
        # ``deploytrail pinned`` reads this one: a meta-runner step sees env.* parameters.
        "env.DEPLOYTRAIL_PINNED_BUILD_ID": build.id,
    }
    comment = (f"{alias.name}: {alias.pin_build_type} #{build.number} ({build.revision}) "
               f"promoted to production by {user} via deploytrail")
    try:
        result.queued = TeamCityClient(target, prod_token).queue_build(
            alias.deploy_build_type, properties, comment)
    except WriteUnconfirmed as error:
        raise _retold(error, f"{alias.pin_build_type} #{build.number} IS pinned on {source}; "
                      f"{alias.deploy_build_type} MAY have been queued on {target}",
                      f"look at the queue and history of {alias.deploy_build_type} on {target} "
                      "first: do not deploy again until you know; if nothing is there, run "
                      f"'{command} {alias.name} --build {build.number}'") from None
    except ServiceError as error:
        raise _retold(error, f"{alias.pin_build_type} #{build.number} IS pinned on {source}, "
                      f"but {alias.deploy_build_type} was NOT queued",
                      f"once {target} answers, run '{command} {alias.name} --build "
                      f"{build.number}' (pinning again is harmless), or run "
                      f"{alias.deploy_build_type} by hand with "
                      f"deploytrail.pinned.build_id={build.id}") from None
    return result


def _retold(error: ServiceError, outcome: str, hint: str) -> ServiceError:
    """The same error (class, status) with what happened and what to do next."""
    told = type(error)(error.service, f"{error.message.removeprefix(error.service + ': ')}; "
                       f"{outcome}", hint=hint)
    told.status, told.method, told.url, told.body = error.status, error.method, error.url, \
        error.body
    return told
