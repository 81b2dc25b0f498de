"""Tell the team's chat rooms that a release started, is live, or failed."""

from __future__ import annotations

from deploytrail.params import BUILD, CHAT, RECORD, Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from deploytrail.clients.chat import ChatMessage, Delivery
    from deploytrail.record import ReleaseRecord
    from deploytrail.render.notify import Phase
    from deploytrail.teamcity import Reporter

__all__ = ["STEP", "send_notification"]


PARAMS = (
    *CHAT,
    Param("phase", "Which message: 'start' (deploy begins) or 'finish' (outcome, duration, "
          "commits).", kind="select", choices=("start", "finish"), default="finish"),
    Param("template", "Jinja2 template file for the message (first line is the title); "
          "default: the shipped templates. Variables: see docs/notify.md."),
    Param("service", "Service name, when the release record has none yet."),
    Param("env", "Environment, when the release record has none yet.", label="Environment:"),
    *BUILD,
    *RECORD,
)


def send_notification(record: ReleaseRecord, chat: Sequence[str], phase: Phase, *,
                      reporter: Reporter, template: str | Path | None = None) -> None:
    """Post the ``phase`` message to every chat target; a chat failure is only a warning.

    A malformed URL or a broken custom template is also only a warning here (the message goes
    to the other targets / with the shipped template), so this never stops a deployment.
    """
    from deploytrail.clients.chat import ChatClient, chat_url_problem

    targets = [url for url in chat if url.strip()]
    usable = []
    for url in targets:
        problem = chat_url_problem(url)
        if problem:
            reporter.warning(f"chat: {problem}; skipped that target")
        else:
            usable.append(url)
    if not usable:
        if targets:
            reporter.warning(f"chat: no usable chat target, the {phase} message was not sent")
        return
    try:
        message = _message(record, phase, template, reporter)
        deliveries = ChatClient(usable, console=reporter.info).send(message)
    except Exception as exc:  # the contract: chat never fails a deployment
        from deploytrail.redact import mask_url

        reporter.warning(f"chat: the {phase} message was not sent: {mask_url(str(exc))}")
        return
    _report(record, phase, deliveries, reporter)


def _message(record: ReleaseRecord, phase: Phase, template: str | Path | None,
             reporter: Reporter) -> ChatMessage:
    from deploytrail.errors import ConfigError
    from deploytrail.render.notify import load_template, render_message

    if template is not None:
        try:
            return render_message(record, phase, template=load_template(template))
        except ConfigError as error:
            reporter.warning(f"chat: {error.message}; sending the standard message instead")
    return render_message(record, phase)


def _report(record: ReleaseRecord, phase: str, deliveries: list[Delivery],
            reporter: Reporter) -> None:
    failed = [d for d in deliveries if not d.ok]
    for delivery in deliveries:
        if delivery.ok and delivery.target != "console":
            kind = "Markdown" if delivery.markdown else "plain text"
            reporter.progress(f"chat: {phase} message sent to {delivery.target} ({kind})")
    notes = record.notes.setdefault("notify", {})
    notes[phase] = {"sent": [d.target for d in deliveries if d.ok],
                    "failed": {d.target: d.reason for d in failed}}
    if not failed:
        return
    reasons = "; ".join(f"{d.target}: {d.reason}" for d in failed)
    if len(failed) == len(deliveries):
        reporter.warning(f"chat: the {phase} message could not be sent ({reasons}). "
                         "The deployment itself is not affected.")
    else:
        reporter.warning(f"chat: the {phase} message did not reach {len(failed)} of "
                         f"{len(deliveries)} targets ({reasons}); the others got it.")


def run(args: Args, report: Reporter) -> int:
    from deploytrail.errors import InputError
    from deploytrail.record import update
    from deploytrail.render.notify import load_template

    template = args.text("template")
    if template:
        load_template(template)  # a typo in the template is exit 2, before anything is sent
    phase: Phase = "start" if args.text("phase") == "start" else "finish"
    with update(args.text("record")) as record:
        record.service = record.service or args.text("service")
        record.environment = record.environment or args.text("env")
        for name in ("build_number", "build_url", "triggered_by"):
            if not getattr(record, name):
                setattr(record, name, args.text(name))
        if not record.service or not record.environment:
            raise InputError(
                "the release record has no service or environment to announce",
                hint="run the earlier deploytrail steps (changelog, marker start) in this build, "
                "or give --service and --env",
            )
        send_notification(record, args.many("chat"), phase, reporter=report, template=template)
    return 0


STEP = Step(
    words=("notify",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    mode="execute_always",
    details="Reads the release record and posts to every chat URL through Apprise (Markdown "
    "where the service renders it, plain text elsewhere; 'console' prints). The finish message "
    "gives the outcome, duration, commits, ticket, build and who triggered it. A chat service "
    "that is down or refuses the message is a warning, never a failed deploy. As a TeamCity "
    "step it runs even when the deploy step failed, so the failure is announced too.",
)
