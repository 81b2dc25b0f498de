"""Deploy events that a sink could not take wait in a local spool: send them now, or list them."""

from __future__ import annotations

from deploytrail.params import EVENTS, Args
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytrail.teamcity import Reporter

__all__ = ["FLUSH", "STATUS"]


def run_flush(args: Args, report: Reporter) -> int:
    from deploytrail.clients.sinks import open_sink
    from deploytrail.clients.spool import SPOOL_HINT, deliver, spools
    from deploytrail.errors import ConfigError, ServiceUnavailable

    password = args.text("redis_password")
    urls = args.many("events") or [url for url, _ in spools()]
    for url in urls:
        open_sink(url, password=password)  # every URL checked before anything is sent
    if not urls:
        report.info("no events waiting")
        return 0
    stuck: list[str] = []
    for url in urls:
        done = deliver(url, password=password)
        if done.spool_problem:
            raise ConfigError(f"{done.url}: {done.spool_problem}", hint=SPOOL_HINT)
        if done.error is not None:
            stuck.append(f"{done.waiting} for {done.url} ({done.error.message})")
            report.warning(f"{done.url}: sent {done.sent}, {done.waiting} still waiting: "
                           f"{done.error}")
        else:
            report.info(f"{done.url}: sent {done.sent} waiting event(s)" if done.sent
                        else f"{done.url}: nothing waiting")
    if stuck:
        raise ServiceUnavailable("events", "some events are still waiting: " + "; ".join(stuck),
                                 hint="they stay spooled; run 'deploytrail events flush' again "
                                 "once the sink is back (Redis password: "
                                 "DEPLOYTRAIL_REDIS_PASSWORD)")
    return 0


def run_status(args: Args, report: Reporter) -> int:
    import json

    from deploytrail.clients.spool import Spool, spools

    waiting = spools()
    if not waiting:
        report.info("no events waiting")
        return 0
    for url, count in waiting:
        oldest = ""
        first = Spool(url).waiting()[:1]
        if first:
            try:
                oldest = f", oldest {json.loads(first[0]).get('@timestamp')}"
            except (ValueError, AttributeError):
                oldest = ""
        report.info(f"{count} event(s) waiting for {url}{oldest}")
    return 0


FLUSH = Step(
    words=("events", "flush"),
    summary="Send the spooled deploy events, oldest first, to their sinks (all sinks when no "
    "--events is given).",
    params=EVENTS,
    run=run_flush,
    details="Exits 3 when a sink still refuses; its events stay spooled, nothing is lost.",
)
STATUS = Step(
    words=("events", "status"),
    summary="Show the deploy events waiting in the local spool, per sink (URLs without passwords).",
    params=(),
    run=run_status,
    metarunner=False,
)
