"""List past deployments from the ledger: when, what, which commits, which ticket, who."""

from __future__ import annotations

from deploytrail.params import Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytrail.teamcity import Reporter


def _positive(value: str) -> str | None:
    return None if value.isdigit() and int(value) > 0 else "must be a whole number above 0"


PARAMS = (
    Param("service", "Only deployments of this service."),
    Param("env", "Only deployments to this environment.", label="Environment:"),
    Param("format", "Output format.", kind="select", choices=("text", "json"), default="text"),
    Param("limit", "Show at most this many deployments, newest first.", default="50",
          check=_positive),
)

_HEADINGS = ("time", "service", "env", "version", "revision", "outcome", "commits", "ticket",
             "who")


def run(args: Args, report: Reporter) -> int:
    from deploytrail.clients.ledger import Ledger

    ledger = Ledger()
    entries = ledger.history(
        service=args.text("service"), environment=args.text("env"),
        limit=int(args.required("limit")),
    )
    if args.text("format") == "json":
        report.json([e.to_json() for e in entries])
        return 0
    if not entries:
        report.info(f"no deployments recorded yet in {ledger.path}")
        return 0
    rows = [_HEADINGS] + [
        (
            _flat(e.started_at or e.finished_at or e.recorded_at),
            _flat(e.service),
            _flat(e.environment),
            _flat(e.version),
            (e.revision or "-")[:10],
            _flat(e.outcome or "running"),
            _changes(e.commit_count, e.changelog_status),
            _flat(e.ticket_key),
            _flat(e.triggered_by),
        )
        for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADINGS))]
    for row in rows:
        report.info("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _changes(count: int, status: str | None) -> str:
    """The commit count, with a rollback or a divergence said in the same cell."""
    said = {"behind": "ROLLBACK", "diverged": f"{count} DIVERGED", "identical": "0 (same rev)"}
    return said.get(status or "", str(count))


def _flat(value: str | None, limit: int = 40) -> str:
    """One table cell: no line breaks or control characters, at most ``limit`` characters."""
    if not value:
        return "-"
    text = "".join(c if c.isprintable() else " " for c in value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


STEP = Step(
    words=("history",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    details="Reads the ledger (DEPLOYTRAIL_HOME/ledger.sqlite3), the embedded audit store that "
    "'deploytrail ccb --tickets ledger' and 'deploytrail release' write to.",
    metarunner=False,
)
