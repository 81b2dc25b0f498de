"""Promote the newest green non-prod build: pin it and queue its production deployment."""

from __future__ import annotations

from deploytrail.params import Param
from deploytrail.step import Step
from deploytrail.steps.alias import ALIASES, locator_check

TYPE_CHECKING = False  # typing is not imported at start-up: ``--help`` must stay fast
if TYPE_CHECKING:
    from deploytrail.params import Args
    from deploytrail.teamcity import Reporter

SERVERS = (
    Param("nonprod_teamcity_url", "Non-production TeamCity URL, for aliases that name none."),
    Param("prod_teamcity_url", "Production TeamCity URL, for aliases that name none."),
    Param("nonprod_teamcity_token", "Access token for the non-production TeamCity (pin, tag).",
          kind="password"),
    Param("prod_teamcity_token", "Access token for the production TeamCity (run builds).",
          kind="password"),
)

PARAMS = (
    Param("alias", "Alias to promote (see 'deploytrail alias list').", required=True,
          positional=True),
    Param("build", "Build number to promote instead of the newest green one; it must pass the "
          "same checks.", check=locator_check),
    Param("as", "Who asks for the promotion (default: the local user); named on the pin and "
          "the production build."),
    Param("room", "Chat room the request comes from, checked against the alias's rooms."),
    Param("dry_run", "Show what would be pinned and queued; change nothing.", kind="checkbox"),
    *SERVERS,
    *ALIASES,
)


def run(args: Args, report: Reporter) -> int:
    import getpass

    from deploytrail.clients.aliases import open_store
    from deploytrail.promotion import promote

    alias = open_store(args.text("aliases")).get(args.required("alias"))
    result = promote(
        alias, user=args.text("as") or getpass.getuser(), room=args.text("room"),
        number=args.text("build"), dry_run=args.flag("dry_run"),
        nonprod_token=args.text("nonprod_teamcity_token"),
        prod_token=args.text("prod_teamcity_token"),
        nonprod_url=args.text("nonprod_teamcity_url"), prod_url=args.text("prod_teamcity_url"),
        reporter=report,
    )
    for line in result.lines():
        report.info(line)
    return 0


STEP = Step(
    words=("promote",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    metarunner=False,
    details="Green means: finished, status SUCCESS and no failed test. TeamCity counts a "
    "muted test failure as muted, not failed: it is shown but does not block. If the newest "
    "build is not green, nothing happens and the newest green build is named; promote it "
    "on purpose with --build NUMBER.",
)
