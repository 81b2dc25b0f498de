"""Send a deploy marker (start or finish event) to Redis, Logstash or a file, for Kibana graphs.

A sink that fails never fails the deploy: the event waits in a local spool, the step warns
and exits 0, and the next marker (or 'deploytrail events flush') sends it first, in order.
"""

from __future__ import annotations

from deploytrail.params import BUILD, EVENTS, RECORD, RELEASE_IDENTITY, Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytrail.events import Phase
    from deploytrail.record import ReleaseRecord
    from deploytrail.teamcity import Reporter

__all__ = ["FINISH", "START", "publish_marker"]

RELEASE = (
    *RELEASE_IDENTITY,
    Param("version", "Version being deployed, e.g. 1.4.2."),
    Param("revision", "Revision (commit sha) being deployed."),
)
START_PARAMS = (*RELEASE, *BUILD, *EVENTS, *RECORD)
FINISH_PARAMS = (
    *RELEASE,
    Param("outcome", "How the deploy ended: success or failure. Leave empty under TeamCity to "
          "take the running build's status from the server (SUCCESS → success, FAILURE → "
          "failure).", choices=("success", "failure")),
    Param("teamcity_url", "TeamCity server to ask for the build's status (default: from the "
          "build properties file).", teamcity_default="%teamcity.serverUrl%"),
    *BUILD, *EVENTS, *RECORD,
)


def publish_marker(record: ReleaseRecord, phase: Phase, events: list[str], *,
                   reporter: Reporter, redis_password: str | None = None) -> None:
    """Stamp ``record`` (started_at or finished_at: now) and send its event to every sink.

    Never raises for a sink failure: the event is spooled and ``reporter`` warns. A malformed
    sink URL raises :class:`~deploytrail.errors.ConfigError` before anything is sent.
    """
    from deploytrail.clients.sinks import default_events_url, open_sink
    from deploytrail.clients.spool import SPOOL_HINT, deliver
    from deploytrail.errors import ConfigError
    from deploytrail.events import deploy_event, now_iso, to_line

    try:
        urls = list(dict.fromkeys(events)) or [default_events_url()]  # once per sink
    except ConfigError as error:  # the default file sink lives in an unusable state directory
        reporter.warning(f"deploy {phase} event not sent: no --events given and the state "
                         f"directory for the default file sink is unusable ({error}); "
                         f"{SPOOL_HINT}, or give --events")
        urls = []
    for url in urls:
        open_sink(url, password=redis_password)  # validates every URL before sending any
    if phase == "start":
        record.started_at = now_iso()
    else:
        record.finished_at = now_iso()
    document = deploy_event(record, phase)
    line = to_line(document)
    spooled = []
    for url in urls:
        done = deliver(url, [line], password=redis_password)
        if done.error is not None and done.spool_problem:
            reporter.warning(f"deploy {phase} event not sent: {done.error.message}")
        elif done.error is not None:
            spooled.append(done.url)
            reporter.warning(
                f"deploy {phase} event not sent: {done.error.message}; "
                f"{done.waiting} event(s) wait in the local spool and go first with the next "
                "marker or 'deploytrail events flush'")
        else:
            earlier = f" after {done.sent - 1} spooled event(s)" if done.sent > 1 else ""
            reporter.progress(f"{document['event']['action']} sent to {done.url}{earlier}")
            if done.spool_problem:
                reporter.warning(f"deploy {phase} event sent to {done.url}, but "
                                 f"{done.spool_problem}: an event a sink refuses would be "
                                 f"lost; {SPOOL_HINT}")
    record.notes.setdefault("events", {})[phase] = {"id": document["event"]["id"],
                                                    "spooled": spooled}


def run_start(args: Args, report: Reporter) -> int:
    from deploytrail import record as records

    with records.update(args.text("record")) as record:
        if _stale(record, args):
            report.progress(f"the record was for an earlier deployment ({record.deployment_id});"
                            " starting a new one")
            _reset(record)
        _apply(args, record)
        publish_marker(record, "start", args.many("events"), reporter=report,
                       redis_password=args.text("redis_password"))
    report.info(f"deployment {record.deployment_id}: start marker for {record.service} "
                f"{record.version or ''} in {record.environment}".replace("  ", " "))
    return 0


def run_finish(args: Args, report: Reporter) -> int:
    from deploytrail import record as records

    with records.update(args.text("record")) as record:
        _apply(args, record)
        if record.started_at is None:
            report.warning("no start marker in the release record: the finish event carries "
                           "no duration")
        outcome = args.text("outcome")
        if outcome is None and report.under_teamcity:
            outcome = _build_outcome(args, report)
        if outcome is not None:
            record.outcome = outcome
        elif record.outcome is None:
            report.warning("outcome unknown: give --outcome success|failure")
            record.outcome = "unknown"
        publish_marker(record, "finish", args.many("events"), reporter=report,
                       redis_password=args.text("redis_password"))
    report.info(f"deployment {record.deployment_id}: finish marker, outcome {record.outcome}")
    return 0


def _apply(args: Args, record: ReleaseRecord) -> None:
    """Given values win over what the record holds; nothing given erases anything."""
    for name, attr in (("service", "service"), ("env", "environment"), ("version", "version"),
                       ("revision", "revision"), ("build_number", "build_number"),
                       ("build_url", "build_url"), ("triggered_by", "triggered_by")):
        value = args.text(name)
        if value:
            setattr(record, attr, value)


def _stale(record: ReleaseRecord, args: Args) -> bool:
    """The record describes another deployment: finished, or another service/env/build."""
    if record.finished_at is not None:
        return True
    pairs = ((record.service, args.text("service")), (record.environment, args.text("env")),
             (record.build_number, args.text("build_number")))
    return any(old and new and old != new for old, new in pairs)


def _reset(record: ReleaseRecord) -> None:
    from dataclasses import fields

    from deploytrail.record import ReleaseRecord

    fresh = ReleaseRecord()
    for item in fields(ReleaseRecord):
        setattr(record, item.name, getattr(fresh, item.name))


def _build_outcome(args: Args, report: Reporter) -> str | None:
    """success/failure from the running build's status on the TeamCity server, or None."""
    from deploytrail.clients.buildprops import running_build
    from deploytrail.errors import ServiceError

    build = running_build()
    server = args.text("teamcity_url") or (build.server_url if build else None)
    if build is None or not server:
        report.warning("cannot ask TeamCity for the build status (no build properties file, or "
                       "it lacks the build id, credentials or server URL); give --outcome")
        return None
    from deploytrail.clients.teamcity import TeamCityClient

    client = TeamCityClient(server, username=build.username, password=build.password,
                            timeout=5.0, retries=1)
    try:
        status = client.build_status(build.build_id)
    except ServiceError as error:
        report.warning(f"cannot read the build status: {error.message}; give --outcome")
        return None
    outcome = {"SUCCESS": "success", "FAILURE": "failure"}.get(status.upper(), "unknown")
    report.progress(f"build {build.build_id} status {status}: outcome {outcome}")
    return outcome


START = Step(
    words=("marker", "start"),
    summary="Send the deployment-started marker event (Redis, Logstash or a file).",
    params=START_PARAMS,
    run=run_start,
    details=__doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
)
FINISH = Step(
    words=("marker", "finish"),
    summary="Send the deployment-finished marker event with outcome and duration; runs even "
    "when the deploy failed.",
    params=FINISH_PARAMS,
    run=run_finish,
    details="Under TeamCity, without --outcome, the outcome is the running build's status "
    "read from the TeamCity REST API with the build's own credentials. "
    + (__doc__.split("\n\n", 1)[1].strip() if __doc__ else ""),
    mode="execute_always",
)
