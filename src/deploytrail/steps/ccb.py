"""File the change-control ticket (CCB) for this release, in JIRA or the ledger, exactly once."""

from __future__ import annotations

from deploytrail.params import BUILD, RECORD, Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from deploytrail.record import ReleaseRecord
    from deploytrail.teamcity import Reporter

__all__ = ["COMMENT_STEP", "STEP", "comment_outcome", "deployment_label", "file_ticket"]

#: Longest wait between two JIRA retries a user may configure, in seconds.
_RESERVED = ("project", "issuetype", "summary", "description", "labels", "components")


def _tickets_problem(value: str) -> str | None:
    if value == "ledger":
        return None
    from deploytrail.clients.jira import parse_jira_url
    from deploytrail.errors import ConfigError

    try:
        parse_jira_url(value)
    except ConfigError as exc:
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    return None


def _field_problem(value: str) -> str | None:
    import json
    import re

    name, sep, raw = value.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        return f"{value!r} is not NAME=VALUE (e.g. customfield_10010=CAB-7)"
    if name in _RESERVED:
        return f"{name} is set by deploytrail (use --issue-type, --label, --component)"
    if raw.strip().startswith(("{", "[")):
        try:
            json.loads(raw)
        except ValueError as exc:
            return f"the value of {name} looks like JSON but is not: {exc}"
    return None


def _label_problem(value: str) -> str | None:
    import re

    return None if re.fullmatch(r"[A-Za-z0-9_.:-]{1,255}", value) else (
        f"{value!r} cannot be a JIRA label (letters, digits, . _ : - only; no spaces)")


TICKETS = Param(
    "tickets",
    "Where the ticket goes: jira+https://HOST/PROJECTKEY (jira+http:// for an internal server) "
    "or 'ledger' (the embedded SQLite audit store).",
    default="ledger", check=_tickets_problem,
)
JIRA_AUTH = (
    Param("jira_email", "JIRA Cloud only: the e-mail address the API token belongs to. Leave "
          "empty for Server/Data Center (personal access token)."),
    Param("jira_token", "JIRA Cloud API token, or a Server/Data Center personal access token.",
          kind="password"),
    Param("jira_ca_bundle", "CA bundle file to verify the JIRA server's certificate "
          "(default: the system's)."),
)
PARAMS = (
    TICKETS,
    Param("issue_type", "JIRA issue type of the ticket (e.g. Change).", default="Task"),
    Param("template", "Jinja2 template file for the description (JIRA wiki markup); default: "
          "the shipped one. Variables: see docs/audit.md."),
    Param("field", "Extra JIRA field as NAME=VALUE, e.g. customfield_10010=CAB-7; a JSON value "
          "such as priority={\"name\":\"High\"} is sent as JSON. Several allowed.",
          multiple=True, check=_field_problem),
    Param("label", "Extra JIRA label. Several allowed.", multiple=True, check=_label_problem),
    Param("component", "JIRA component of the ticket. Several allowed.", multiple=True),
    *JIRA_AUTH,
    Param("service", "Service name, when the release record has none yet."),
    Param("env", "Environment, when the release record has none yet.", label="Environment:"),
    Param("version", "Version being released, when the release record has none yet."),
    *BUILD,
    *RECORD,
)


def deployment_label(deployment_id: str) -> str:
    """The unique JIRA label of a deployment: ``deploytrail-<deployment id>``."""
    import re

    return "deploytrail-" + re.sub(r"[^A-Za-z0-9_.:-]", "-", deployment_id)[:200]


def file_ticket(record: ReleaseRecord, tickets: str, *, reporter: Reporter,
                issue_type: str | None = None, template: str | None = None,
                fields: Sequence[str] = (), labels: Sequence[str] = (),
                components: Sequence[str] = (), jira_email: str | None = None,
                jira_token: str | None = None, ca_bundle: str | None = None) -> None:
    """File the ticket (or find the one filed before) and put its key and URL in the record."""
    import json

    from deploytrail.errors import InputError
    from deploytrail.render.ticket import render_ticket

    missing = [n for n, v in (("service", record.service), ("environment", record.environment))
               if not v]
    if missing:
        raise InputError(f"the release record has no {' or '.join(missing)}",
                         hint="run 'deploytrail changelog' first, or pass --service and --env")
    label = deployment_label(record.deployment_id)
    if tickets == "ledger":
        from deploytrail.clients.ledger import Ledger

        record.ticket_key, record.ticket_url = Ledger().file_ticket(record), None
        _announce(record, reporter, "recorded in the ledger as")
        return
    from deploytrail.clients.jira import client_for

    client, project = client_for(tickets, email=jira_email, token=jira_token,
                                 ca_bundle=ca_bundle)
    ticket = render_ticket(record, label, template)
    values: dict[str, object] = {
        "project": {"key": project},
        "issuetype": {"name": issue_type or "Task"},
        "summary": ticket.summary,
        "description": ticket.description,
        "labels": sorted({"deploytrail", *labels}),
    }
    if components:
        values["components"] = [{"name": name} for name in components]
    for item in fields:
        name, _, raw = item.partition("=")
        values[name] = json.loads(raw) if raw.strip().startswith(("{", "[")) else raw
    issue, created = client.create_once(project, label, values)
    record.ticket_key, record.ticket_url = issue.key, issue.url
    record.notes["ccb"] = {"label": label, "created": created}
    _announce(record, reporter, "filed" if created else "already filed as")
    links = [(url, title) for url, title in ((record.build_url, "TeamCity build"),
             (record.compare_url, "Changes (GitHub comparison)")) if url]
    for problem in client.add_links(issue.key, links, fresh=created):
        reporter.warning(f"could not link {problem} to {issue.key}")
    _remember(record, reporter)


def _remember(record: ReleaseRecord, reporter: Reporter) -> None:
    """Keep the local ledger (history, --previous ledger) in step with the JIRA ticket."""
    from deploytrail.clients.ledger import Ledger
    from deploytrail.errors import ServiceError

    try:
        Ledger().record_deployment(record)
    except ServiceError as exc:  # JIRA is the audit store here; the ledger is a convenience
        reporter.warning(str(exc))


def _announce(record: ReleaseRecord, reporter: Reporter, verb: str) -> None:
    key, url = record.ticket_key or "", record.ticket_url
    reporter.info(f"CCB {verb} {key}" + (f": {url}" if url else ""))
    reporter.set_parameter("deploytrail.ccb.key", key)
    if url:
        reporter.set_parameter("deploytrail.ccb.url", url)
    reporter.status(f"CCB {key}")


def comment_outcome(record: ReleaseRecord, tickets: str, *, reporter: Reporter,
                    jira_email: str | None = None, jira_token: str | None = None,
                    ca_bundle: str | None = None) -> None:
    """Add the deployment's outcome to its ticket, once per outcome."""
    from deploytrail.errors import InputError, StepFailed
    from deploytrail.render.ticket import escape_wiki, link

    if record.outcome not in ("success", "failure"):
        raise InputError("the release record has no outcome yet",
                         hint="run 'deploytrail marker finish' first, or pass --outcome")
    if tickets == "ledger":
        from deploytrail.clients.ledger import Ledger

        Ledger().record_deployment(record)
        reporter.info(f"outcome {record.outcome} recorded in the ledger"
                      + (f" for {record.ticket_key}" if record.ticket_key else ""))
        return
    from deploytrail.clients.jira import client_for

    client, project = client_for(tickets, email=jira_email, token=jira_token,
                                 ca_bundle=ca_bundle)
    key = record.ticket_key
    if not key:
        found = client.find_by_label(project, deployment_label(record.deployment_id))
        if not found:
            raise StepFailed(f"no ticket was filed for deployment {record.deployment_id}",
                             hint="run 'deploytrail ccb' before the deploy")
        key = found[0].key
    marker = f"{deployment_label(record.deployment_id)}:outcome:{record.outcome}"
    word = "*succeeded*" if record.outcome == "success" else "*failed*"
    body = (
        f"Deployment of {escape_wiki(record.service)} {escape_wiki(record.version or '')} to "
        f"{escape_wiki(record.environment)} {word}"
        + (f" at {escape_wiki(record.finished_at)}" if record.finished_at else "")
        + (f": {escape_wiki(record.outcome_reason, 500)}" if record.outcome_reason else "")
        + (f". Build: {link('#' + (record.build_number or 'build'), record.build_url)}"
           if record.build_url else ".")
        + f"\n\n{{{{{marker}}}}}"
    )
    added = client.add_comment_once(key, body, marker)
    _remember(record, reporter)
    reporter.info(f"outcome {record.outcome} {'added to' if added else 'already on'} {key}")


def run(args: Args, report: Reporter) -> int:
    from deploytrail import record as records

    with records.update(args.text("record")) as record:
        _fill(record, args)
        file_ticket(record, args.required("tickets"), reporter=report,
                    issue_type=args.text("issue_type"), template=args.text("template"),
                    fields=args.many("field"), labels=args.many("label"),
                    components=args.many("component"), jira_email=args.text("jira_email"),
                    jira_token=args.text("jira_token"), ca_bundle=args.text("jira_ca_bundle"))
    return 0


def _fill(record: ReleaseRecord, args: Args) -> None:
    for attr, name in (("service", "service"), ("environment", "env"), ("version", "version"),
                       ("build_number", "build_number"), ("build_url", "build_url"),
                       ("triggered_by", "triggered_by")):
        if not getattr(record, attr) and args.text(name):
            setattr(record, attr, args.text(name))


def run_comment(args: Args, report: Reporter) -> int:
    from deploytrail import record as records

    with records.update(args.text("record")) as record:
        if args.text("outcome"):
            record.outcome = args.text("outcome")
        comment_outcome(record, args.required("tickets"), reporter=report,
                        jira_email=args.text("jira_email"), jira_token=args.text("jira_token"),
                        ca_bundle=args.text("jira_ca_bundle"))
    return 0


STEP = Step(
    words=("ccb",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    details="Reads the release record (commits from 'deploytrail changelog'). The ticket lists "
    "every commit with its link, author and issue keys, the build and who triggered it, and "
    "links to the build and the GitHub comparison. It carries the label "
    "deploytrail-<deployment id>: a re-run, or a retry after a timeout, finds it instead of "
    "filing another. The key and URL go into the record and the TeamCity parameters "
    "deploytrail.ccb.key / deploytrail.ccb.url. After the deploy, 'deploytrail ccb comment' "
    "adds the outcome.",
)

COMMENT_STEP = Step(
    words=("ccb", "comment"),
    summary="After the deploy: add the outcome to the release's change ticket (once).",
    params=(
        TICKETS,
        Param("outcome", "The deployment's outcome; leave empty to use the release record's "
              "(set by 'deploytrail marker finish'). Given, it replaces the record's.",
              kind="select", choices=("success", "failure")),
        *JIRA_AUTH,
        *RECORD,
    ),
    run=run_comment,
    mode="execute_always",
)
