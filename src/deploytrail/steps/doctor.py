"""Check every configured backend and print what works, what does not, and how to fix it."""

from __future__ import annotations

from deploytrail.params import CHAT, EVENTS, Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytrail.doctor import Check
    from deploytrail.teamcity import Reporter

PARAMS = (
    Param("source", "Where commits come from: git:PATH or github:OWNER/REPO.", default="git:."),
    Param("github_url", "GitHub Enterprise API URL (https://HOST/api/v3)."),
    Param("tickets", "Where change tickets go: ledger or jira+https://HOST/PROJECTKEY.",
          default="ledger"),
    Param("issue_type", "JIRA issue type of the change ticket.", default="Task"),
    *EVENTS,
    # doctor reports a malformed chat URL in its table instead of refusing to start
    *(param.but(check=None) for param in CHAT),
    Param("kibana_url", "Kibana to check, e.g. https://kibana.example.com."),
    Param("nonprod_teamcity_url", "Non-production TeamCity (token: "
          "DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN)."),
    Param("prod_teamcity_url", "Production TeamCity (token: DEPLOYTRAIL_PROD_TEAMCITY_TOKEN)."),
)


def run(args: Args, report: Reporter) -> int:
    from deploytrail import doctor

    checks: list[Check] = doctor.run_checks(
        source=args.required("source"),
        github_url=args.text("github_url"),
        tickets=args.required("tickets"),
        issue_type=args.required("issue_type"),
        events=args.many("events"),
        redis_password=args.text("redis_password"),
        chat=args.many("chat"),
        kibana_url=args.text("kibana_url"),
        teamcity={"non-prod": args.text("nonprod_teamcity_url"),
                  "prod": args.text("prod_teamcity_url")},
    )
    report.info(doctor.table(checks))
    failed = [c for c in checks if not c.ok and c.required]
    if failed:
        report.problem(f"{len(failed)} required check(s) failed: "
                       + ", ".join(c.name for c in failed))
        return 1
    return 0


STEP = Step(
    words=("doctor",),
    summary=(__doc__ or "").strip(),
    params=PARAMS,
    run=run,
    metarunner=False,
)
