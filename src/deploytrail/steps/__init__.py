"""The explicit registry of steps: one line per step, in the order ``--help`` lists them."""

from __future__ import annotations

from deploytrail.step import Step
from deploytrail.steps import (
    alias,
    ccb,
    changelog,
    docs,
    doctor,
    events,
    history,
    info,
    kibana,
    marker,
    metarunners,
    notify,
    pinned,
    promote,
    release,
)

__all__ = ["GROUPS", "STEPS"]

#: Summaries of commands that group several steps (``deploytrail marker start|finish``).
GROUPS: dict[str, str] = {
    "alias": alias.SUMMARY,
    "marker": "Deploy markers: start/finish events for Kibana graphs (Redis, Logstash, file).",
    "events": "Deploy events waiting in the local spool: send them (flush) or list them (status).",
    "info": "Deployment-info: what a service runs (write the JSON it serves).",
}

STEPS: dict[str, Step] = {
    step.id: step
    for step in (
        changelog.STEP,
        info.STEP,
        ccb.STEP,
        ccb.COMMENT_STEP,
        history.STEP,
        marker.START,
        marker.FINISH,
        events.FLUSH,
        events.STATUS,
        kibana.STEP,
        kibana.IMPORT_STEP,
        *alias.STEPS,
        promote.STEP,
        pinned.STEP,
        notify.STEP,
        release.STEP,
        doctor.STEP,
        metarunners.STEP,
        docs.STEP,
    )
}
