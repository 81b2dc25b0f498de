"""The checks behind ``deploytrail doctor``: one small probe per configured backend.

A probe never raises: it returns a :class:`Check` with what it found, why it failed and what to
do about it. Reasons are redacted, so a token in a URL or a server's answer is never printed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from deploytrail.errors import DeploytrailError
from deploytrail.redact import mask_url, redact, shorten

__all__ = ["Check", "run_checks", "table"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    #: A failed required check makes ``doctor`` exit non-zero; visibility backends (events,
    #: chat) are not required: a deploy goes on without them (events are spooled).
    required: bool = True


def _probe(name: str, required: bool, fix: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name, True, probe(), required=required)
    except DeploytrailError as error:
        advice = " — ".join(filter(None, (error.hint, fix)))
        return Check(name, False, shorten(redact(error.message), 200), advice, required)
    except Exception as error:  # a probe reports any failure; it never crashes the doctor
        reason = shorten(redact(f"{type(error).__name__}: {error}"), 200)
        return Check(name, False, reason, fix, required)


def run_checks(
    *,
    source: str,
    github_url: str | None,
    tickets: str,
    issue_type: str,
    events: list[str],
    redis_password: str | None,
    chat: list[str],
    kibana_url: str | None,
    teamcity: dict[str, str | None],
) -> list[Check]:
    checks = [_source(source, github_url), _tickets(tickets, issue_type)]
    checks += [_events(url, redis_password) for url in events]
    checks += [_chat(url) for url in chat]
    if kibana_url:
        checks.append(_kibana(kibana_url))
    checks += [_teamcity(label, url) for label, url in teamcity.items() if url]
    return checks


def table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        mark = "✔" if check.ok else ("✘" if check.required else "!")
        lines.append(f"{mark} {check.name:<{width}}  {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"  {'':<{width}}  → {check.fix}")
    ok = sum(c.ok for c in checks)
    lines.append(f"\n{ok} of {len(checks)} checks passed")
    return "\n".join(lines)


# --- commits -------------------------------------------------------------------------------
def _source(source: str, github_url: str | None) -> Check:
    if source.startswith("github:"):
        return _probe(f"GitHub {source[7:]}", True,
                      "set DEPLOYTRAIL_GITHUB_TOKEN to a token that can read the repository",
                      lambda: _github(source[7:], github_url))
    path = source[4:] if source.startswith("git:") else source
    return _probe(f"git {path}", True, "give --source git:PATH of a checked-out repository",
                  lambda: _git(path))


def _git(path: str) -> str:
    from deploytrail.clients.gitlocal import LocalGit

    head = LocalGit(path).resolve("HEAD")
    return f"repository readable, HEAD {head[:12]}"


def _github(repo: str, github_url: str | None) -> str:
    from deploytrail.clients.github import GitHubClient

    client = GitHubClient(github_url, os.environ.get("DEPLOYTRAIL_GITHUB_TOKEN") or None,
                          timeout=10, retries=1, max_wait=5)
    return client.check(repo)


# --- tickets -------------------------------------------------------------------------------
def _tickets(tickets: str, issue_type: str) -> Check:
    if tickets == "ledger":
        return _probe("ledger", True, "make DEPLOYTRAIL_HOME a writable folder", _ledger)
    return _probe(f"JIRA {mask_url(tickets)}", True,
                  "check the URL, DEPLOYTRAIL_JIRA_TOKEN (and DEPLOYTRAIL_JIRA_EMAIL for Cloud)",
                  lambda: _jira(tickets, issue_type))


def _ledger() -> str:
    from deploytrail.clients.ledger import Ledger

    ledger = Ledger()
    count = len(ledger.history(limit=1000))
    return f"{ledger.path} writable, {count} deployment(s) recorded"


def _jira(tickets: str, issue_type: str) -> str:
    from deploytrail.clients.jira import check_project

    return check_project(tickets, issue_type)


# --- events --------------------------------------------------------------------------------
def _events(url: str, redis_password: str | None) -> Check:
    from deploytrail.clients.sinks import public_url

    def probe() -> str:
        from deploytrail.clients.sinks import open_sink

        sink = open_sink(url, password=redis_password)
        try:
            return sink.check()
        finally:
            sink.close()

    return _probe(f"events {public_url(url)}", False,
                  "until fixed, events are spooled locally: 'deploytrail events flush' sends "
                  "them later", probe)


# --- chat, kibana, teamcity ----------------------------------------------------------------
def _chat(url: str) -> Check:
    from deploytrail.clients.chat import chat_url_problem, mask_chat_url

    problem = chat_url_problem(url)
    name = f"chat {mask_chat_url(url)}"
    if problem:
        return Check(name, False, problem, "see docs/notify.md for each service's URL form",
                     required=False)
    return Check(name, True, "well-formed", required=False)


def _kibana(url: str) -> Check:
    def probe() -> str:
        from deploytrail.clients.kibana import KibanaClient

        client = KibanaClient(url, api_key=os.environ.get("DEPLOYTRAIL_KIBANA_API_KEY"),
                              username=os.environ.get("DEPLOYTRAIL_KIBANA_USERNAME"),
                              password=os.environ.get("DEPLOYTRAIL_KIBANA_PASSWORD"), timeout=5)
        return f"reachable, Kibana {client.version()}"

    # Kibana only draws the markers: no deploy waits for it, so it is not required
    return _probe(f"Kibana {mask_url(url)}", False,
                  "check the URL and DEPLOYTRAIL_KIBANA_API_KEY", probe)


def _teamcity(label: str, url: str | None) -> Check:
    env = f"DEPLOYTRAIL_{'NONPROD' if label == 'non-prod' else 'PROD'}_TEAMCITY_TOKEN"

    def probe() -> str:
        from deploytrail.clients.teamcity import TeamCityClient

        token = os.environ.get(env)
        if not token:
            raise DeploytrailError(f"{env} is not set", hint=f"export {env}=<access token>")
        version = TeamCityClient(str(url), token).server_version()
        return f"reachable, token accepted (TeamCity {version})"

    return _probe(f"TeamCity {label} {mask_url(str(url))}", True,
                  f"check the URL and {env}", probe)
