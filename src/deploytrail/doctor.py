"""The checks behind ``deploytrail doctor``: one small probe per configured backend.

A probe never raises: it returns a :class:`Check` with what it found, why it failed and what to
do about it. Reasons are redacted, so a token in a URL or a server's answer is never printed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

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
        return Check(name, False, shorten(redact(error.message), 200), error.hint or fix, required)
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
    from github import Auth, Github

    token = os.environ.get("DEPLOYTRAIL_GITHUB_TOKEN")
    kwargs: dict[str, object] = {"timeout": 10, "retry": None}
    if github_url:
        kwargs["base_url"] = github_url
    if token:
        kwargs["auth"] = Auth.Token(token)
    client = Github(**kwargs)  # type: ignore[arg-type]
    found = client.get_repo(repo)
    scopes = client.oauth_scopes
    if scopes is None:
        access = "fine-grained or app token" if token else "no token: public access only"
    else:
        access = "token scopes: " + (", ".join(scopes) or "none")
    return f"{found.full_name} reachable ({access})"


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
    name = f"events {mask_url(url)}"
    fix = "until fixed, events are spooled locally: run 'deploytrail events flush' later"
    if url.startswith(("redis://", "rediss://")):
        return _probe(name, False, fix, lambda: _redis(url, redis_password))
    if url.startswith("logstash+tcp://"):
        return _probe(name, False, fix, lambda: _tcp(url))
    if url.startswith("logstash+udp://"):
        return _probe(name, False, fix, lambda: _udp(url))
    if url.startswith("file:"):
        return _probe(name, False, "give a file: path in a writable folder",
                      lambda: _file(url[5:]))
    return Check(name, False, "unknown event sink scheme",
                 "use file:PATH, redis://…, rediss://…, logstash+tcp://… or logstash+udp://…",
                 required=False)


def _redis(url: str, password: str | None) -> str:
    import uuid

    import redis

    parts = urlsplit(url)
    client = redis.Redis.from_url(parts._replace(query="").geturl(), socket_timeout=3,
                                  socket_connect_timeout=3,
                                  **({"password": password} if password else {}))
    client.ping()
    probe = f"deploytrail:doctor:{uuid.uuid4().hex}"
    client.set(probe, "1", ex=10)
    client.delete(probe)
    return "reachable and writable"


def _tcp(url: str) -> str:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 5000), timeout=3):
        return "port open"


def _udp(url: str) -> str:
    parts = urlsplit(url)
    socket.getaddrinfo(parts.hostname or "", parts.port or 5959, type=socket.SOCK_DGRAM)
    return "host resolves (UDP cannot confirm a listener)"


def _file(path: str) -> str:
    folder = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(folder, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{folder} is not writable")
    return f"{path} writable"


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
        import requests

        from deploytrail.clients.kibana import auth_headers

        answer = requests.get(url.rstrip("/") + "/api/status", headers=auth_headers(),
                              timeout=5)
        answer.raise_for_status()
        version = answer.json().get("version", {}).get("number", "?")
        return f"reachable, Kibana {version}"

    return _probe(f"Kibana {mask_url(url)}", True,
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
