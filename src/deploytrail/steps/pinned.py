"""Find the promoted (pinned) non-prod build and hand its number, revision and artifacts on."""

from __future__ import annotations

from deploytrail.params import RECORD, Param
from deploytrail.step import Step
from deploytrail.steps.alias import build_id_check, build_type_check

TYPE_CHECKING = False  # typing is not imported at start-up: ``--help`` must stay fast
if TYPE_CHECKING:
    from deploytrail.params import Args
    from deploytrail.teamcity import Reporter

PARAMS = (
    Param("build_type", "Non-production build configuration id whose pinned build is deployed, "
          "e.g. Api_Build.", required=True, check=build_type_check),
    Param("teamcity_url", "Non-production TeamCity URL.", required=True),
    Param("nonprod_teamcity_token", "Access token for the non-production TeamCity.",
          kind="password"),
    # Not a meta-runner field: 'deploytrail promote' queues the production build with
    # env.DEPLOYTRAIL_PINNED_BUILD_ID, which a field of the same name would hide.
    Param("pinned_build_id", "Id of the pinned build to use (set by 'deploytrail promote'); "
          "default: the newest pinned successful build.", cli_only=True,
          check=build_id_check),
    Param("artifact", "Path of one artifact to link instead of the whole-build zip, e.g. "
          "dist/api.tar.gz."),
    *RECORD,
)


def run(args: Args, report: Reporter) -> int:
    from deploytrail.clients.teamcity import TeamCityClient
    from deploytrail.errors import InputError, NoGreenBuild
    from deploytrail.record import update

    build_type, url = args.required("build_type"), args.required("teamcity_url")
    token = args.text("nonprod_teamcity_token")
    if not token:
        raise InputError("DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN is not set",
                         hint="give the step a token of the non-production TeamCity")
    client = TeamCityClient(url, token)
    wanted = args.text("pinned_build_id")
    if wanted:
        build = client.build(wanted)
        if build.build_type_id != build_type:
            raise InputError(f"build {wanted} is a build of {build.build_type_id}, not of "
                             f"{build_type}", hint="check --build-type and the queued build's "
                             "deploytrail.pinned.build_id")
        if build.status != "SUCCESS" or build.state != "finished":
            raise NoGreenBuild(f"build #{build.number} of {build_type} is {build.state}, "
                               f"{build.status}: it must not go to production")
        if not build.pinned:
            report.warning(f"build #{build.number} of {build_type} is not pinned; TeamCity "
                           "may clean it (and its artifacts) up")
    else:
        found = client.pinned_builds(build_type, count=1)
        if not found:
            raise NoGreenBuild(f"{build_type} has no pinned successful build on {url}",
                               hint="promote one first: deploytrail promote ALIAS")
        build = found[0]
    artifacts = client.artifact_url(build, args.text("artifact"))
    values = {"build_id": build.id, "build_number": build.number or "",
              "revision": build.revision or "", "artifacts_url": artifacts}
    for name, value in values.items():
        report.set_parameter(f"deploytrail.pinned.{name}", value)
    report.set_parameter("env.DEPLOYTRAIL_REVISION", build.revision or "")
    with update(args.text("record")) as record:
        record.revision = build.revision or record.revision
        record.pinned = {**values, "build_type": build_type, "web_url": build.web_url,
                         "teamcity_url": url}
    report.info(f"deploying {build_type} #{build.number} ({build.revision}): {build.web_url}")
    return 0


STEP = Step(
    words=("pinned",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    details="Sets the TeamCity parameters deploytrail.pinned.build_id, .build_number, "
    ".revision and .artifacts_url, and env.DEPLOYTRAIL_REVISION for later steps, and writes "
    "the revision into the release record.",
)
