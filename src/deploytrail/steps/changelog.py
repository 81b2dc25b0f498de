"""List every commit since the previous release of this service and environment."""

from __future__ import annotations

import os

from deploytrail.errors import InputError
from deploytrail.params import RECORD, RELEASE_IDENTITY, Param
from deploytrail.step import Step

TYPE_CHECKING = False  # typing is not imported at start-up: ``--help`` must stay fast
if TYPE_CHECKING:
    from deploytrail.commits import Changes
    from deploytrail.params import Args
    from deploytrail.record import ReleaseRecord
    from deploytrail.teamcity import Reporter

__all__ = ["InfoOptions", "collect_changelog", "find_changes"]


def _check_previous(value: str) -> str | None:
    if value == "ledger" or value.startswith(("info:http://", "info:https://")):
        return None
    if value.startswith("sha:") and value[4:].strip():
        return None
    return "must be ledger, info:URL (http/https) or sha:REV"


def _check_source(value: str) -> str | None:
    if value.startswith("git:") and value[4:]:
        return None
    if value.startswith("github:") and value[7:].count("/") == 1 and all(value[7:].split("/")):
        return None
    return "must be git:PATH or github:OWNER/REPO"


PARAMS = (
    *RELEASE_IDENTITY,
    Param("revision", "Git revision being released (default: the one 'deploytrail pinned' put "
          "in the release record, else TeamCity's BUILD_VCS_NUMBER)."),
    Param("previous", "Where the previous release's revision comes from: ledger (the last "
          "successful deploy recorded here), info:URL (the service's deployment-info "
          "endpoint) or sha:REV.", default="ledger", check=_check_previous),
    Param("source", "Where commits come from: git:PATH (a local checkout) or "
          "github:OWNER/REPO.", default="git:.", check=_check_source),
    Param("github_url", "GitHub Enterprise URL, e.g. https://github.example.com "
          "(default: github.com)."),
    Param("github_token", "GitHub token with read access to the repository.", kind="password"),
    Param("info_field", "Field of the deployment-info answer holding the revision, as a dotted "
          "path (default: revision, sha, commit or git_sha)."),
    Param("info_header", "Header sent to the deployment-info endpoint, 'Name: value' (e.g. "
          "'Authorization: Bearer TOKEN').", kind="password"),
    Param("info_ca_bundle", "CA bundle (PEM file) to verify the deployment-info endpoint's "
          "certificate."),
    Param("format", "Output format: text for a terminal, markdown for tickets and chat, json.",
          kind="select", choices=("text", "markdown", "json"), default="text"),
    *RECORD,
)


class InfoOptions:
    """How to read a deployment-info endpoint (``--previous info:URL``)."""

    __slots__ = ("ca_bundle", "field", "header")

    def __init__(self, field: str | None = None, header: str | None = None,
                 ca_bundle: str | None = None) -> None:
        self.field, self.header, self.ca_bundle = field, header, ca_bundle


def _previous_revision(record: ReleaseRecord, previous: str, info: InfoOptions,
                       reporter: Reporter | None) -> str | None:
    if previous.startswith("sha:"):
        return previous[4:].strip()
    if previous.startswith("info:"):
        from deploytrail.clients.deployment_info import DeploymentInfoClient

        found = DeploymentInfoClient(previous[5:], field=info.field, auth_header=info.header,
                                     ca_bundle=info.ca_bundle).fetch()
        if reporter:
            reporter.progress(f"{previous[5:]} runs {found.revision}"
                              + (f" (version {found.version})" if found.version else ""))
        return found.revision
    if previous == "ledger":
        from deploytrail.clients.ledger import Ledger

        if not record.service or not record.environment:
            raise InputError("--previous ledger needs the service and the environment")
        entry = Ledger().last_successful(record.service, record.environment)
        return entry.revision if entry else None
    raise InputError(f"--previous {previous!r} must be ledger, info:URL or sha:REV")


def find_changes(record: ReleaseRecord, *, source: str = "git:.", previous: str = "ledger",
                 github_url: str | None = None, github_token: str | None = None,
                 info: InfoOptions | None = None, reporter: Reporter | None = None) -> Changes:
    """The commits between the previous release and ``record.revision``, from ``source``."""
    if not record.revision:
        raise InputError("no revision to list the changes up to",
                         hint="give --revision REV (or run 'deploytrail pinned' first in a "
                         "promoted production build)")
    before = _previous_revision(record, previous, info or InfoOptions(), reporter)
    if source.startswith("github:"):
        from deploytrail.clients.github import GitHubClient

        token = github_token or os.environ.get("DEPLOYTRAIL_GITHUB_TOKEN") or None
        client = GitHubClient(github_url, token)
        repo = source[len("github:"):]
        if before is None:
            return client.first(repo, record.revision)
        return client.compare(repo, before, record.revision)
    if source.startswith("git:"):
        from deploytrail.clients.gitlocal import LocalGit

        git = LocalGit(source[len("git:"):] or ".")
        return git.first(record.revision) if before is None else git.compare(before,
                                                                             record.revision)
    raise InputError(f"--source {source!r} must be git:PATH or github:OWNER/REPO")


def apply_changes(record: ReleaseRecord, changes: Changes, reporter: Reporter | None) -> None:
    """Write the changes into the record and tell the user (and TeamCity) what goes out."""
    from deploytrail.record import record_path
    from deploytrail.render.changelog import headline, render_markdown

    record.revision = changes.revision
    record.previous_revision = changes.previous_revision
    record.commits = [c.to_json() for c in changes.commits]
    record.changelog_status = changes.status
    record.changelog_truncated = changes.truncated
    record.compare_url = changes.compare_url
    record.notes["changelog"] = {"ahead_by": changes.ahead_by, "behind_by": changes.behind_by}
    if reporter is None:
        return
    service, env = record.service or "?", record.environment or "?"
    line = headline(service, env, changes)
    if changes.status in ("behind", "diverged"):
        reporter.warning(line)
    else:
        reporter.progress(line)
    path = record_path().parent / "changelog.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(service, env, changes), encoding="utf-8")
    reporter.publish(str(path))
    reporter.set_parameter("deploytrail.commit_count", str(changes.total))
    reporter.set_parameter("deploytrail.changelog_status", changes.status)
    short = {"behind": "ROLLBACK, 0 commits", "diverged": f"DIVERGED, {changes.total} commits"}
    plural = "" if changes.total == 1 else "s"
    reporter.status(short.get(changes.status, f"{changes.total} commit{plural}"))


def collect_changelog(record: ReleaseRecord, *, source: str = "git:.", previous: str = "ledger",
                      github_url: str | None = None, reporter: Reporter | None = None,
                      info: InfoOptions | None = None) -> None:
    """Fill record.previous_revision, commits, changelog_status and compare_url (in place)."""
    changes = find_changes(record, source=source, previous=previous, github_url=github_url,
                           info=info, reporter=reporter)
    apply_changes(record, changes, reporter)


def run(args: Args, report: Reporter) -> int:
    from deploytrail.record import update
    from deploytrail.render.changelog import changelog_json, render

    with update(args.text("record")) as record:
        service, env = args.required("service"), args.required("env")
        record.service, record.environment = service, env
        record.revision = (args.text("revision") or record.revision
                           or os.environ.get("BUILD_VCS_NUMBER") or None)
        info = InfoOptions(args.text("info_field"), args.text("info_header"),
                           args.text("info_ca_bundle"))
        changes = find_changes(record, source=args.required("source"),
                               previous=args.required("previous"),
                               github_url=args.text("github_url"),
                               github_token=args.text("github_token"), info=info, reporter=report)
        apply_changes(record, changes, report)
    if args.required("format") == "json":
        report.json(changelog_json(service, env, changes))
    else:
        report.info(render(args.required("format"), service, env, changes))
    return 0


STEP = Step(
    words=("changelog",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    details="Finds the previous release (the ledger, the service's deployment-info endpoint or a "
    "given sha), lists the commits since from the local checkout or GitHub, writes them into "
    "the release record and, under TeamCity, publishes changelog.md, sets "
    "deploytrail.commit_count and shows the count in the build status. A revision that is "
    "behind or diverged from the previous release (a rollback) is said plainly.",
)
