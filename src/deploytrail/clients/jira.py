"""JIRA Server/Data Center and Cloud, through the ``jira`` library.

``jira+https://HOST[/CONTEXT]/PROJECTKEY`` (or ``jira+http://`` for an internal server) names the
server and the project. Server/Data Center authenticates with a personal access token (bearer);
Cloud with an e-mail address and an API token (basic). Which one the server is comes from its
``serverInfo``; the library then searches Cloud through ``search/jql`` and Server through
``search``.

Retries are ours, not the library's: its ``ResilientSession`` retries *every* request on a
dropped connection (a repeated ``POST issue`` files a second ticket), waits 20–60 s between
tries, and does not retry a plain 503. So the library runs with ``max_retries=0`` and this
client retries reads on 5xx, 429 and timeouts a bounded number of times, while an issue is
created by :meth:`JiraClient.create_once`: search for its unique label, create only when
absent, and after a failure search again before trying anew.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

from deploytrail.errors import ConfigError, InputError, ServiceError, ServiceUnavailable
from deploytrail.redact import mask_url, shorten

__all__ = ["JiraClient", "JiraIssue", "JiraTarget", "check_project", "parse_jira_url"]

T = TypeVar("T")

_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,254}")
_LABEL = re.compile(r"[A-Za-z0-9_.:-]{1,255}")
#: Seconds to wait before each retry (so 1 try + 3 retries).
DEFAULT_RETRY_DELAYS = (1.0, 3.0, 8.0)
#: Longest wait we accept from a Retry-After header, in seconds.
MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class JiraTarget:
    """The server and project a ``jira+https://HOST/PROJECTKEY`` URL names."""

    server: str
    project: str


def parse_jira_url(url: str) -> JiraTarget:
    """Split ``jira+https://HOST[/CONTEXT]/PROJECTKEY`` into the server URL and the project key."""
    example = "jira+https://jira.example.com/CHG"
    parts = urlsplit(url)
    if parts.scheme not in {"jira+https", "jira+http"} or not parts.hostname:
        raise ConfigError(
            f"{mask_url(url)!r} is not a JIRA URL",
            hint=f"write it as {example} (jira+http:// for an internal server)",
        )
    if parts.username or parts.password:
        raise ConfigError(
            f"{mask_url(url)!r} carries credentials",
            hint=f"write it as {example} and give the token in DEPLOYTRAIL_JIRA_TOKEN (and "
            "DEPLOYTRAIL_JIRA_EMAIL for Cloud), never in the URL",
        )
    path = parts.path.rstrip("/")
    context, _, project = path.rpartition("/")
    if not _PROJECT_KEY.fullmatch(project):
        raise ConfigError(
            f"{mask_url(url)!r} does not end with a JIRA project key (such as CHG)",
            hint=f"write it as {example}: the last part of the path is the project key",
        )
    server = f"{parts.scheme.removeprefix('jira+')}://{parts.netloc}{context}"
    return JiraTarget(server=server, project=project)


@dataclass(frozen=True)
class JiraIssue:
    key: str
    url: str
    summary: str = ""
    labels: tuple[str, ...] = ()


class JiraClient:
    """One JIRA server. Nothing happens on the network until the first call."""

    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        email: str | None = None,
        timeout: float = 30.0,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        verify: bool | str = True,
    ) -> None:
        if email and not token:
            raise InputError(
                "DEPLOYTRAIL_JIRA_EMAIL is set but DEPLOYTRAIL_JIRA_TOKEN is not",
                hint="for JIRA Cloud set both: your e-mail address and an API token",
            )
        self.server = server.rstrip("/")
        self._token = token
        self._email = email
        self._timeout = timeout
        self._delays = tuple(retry_delays)
        self._verify = verify
        self._jira: Any = None

    # --- the public calls ---------------------------------------------------------------------
    @property
    def is_cloud(self) -> bool:
        return bool(self._client()._is_cloud)

    def issue_url(self, key: str) -> str:
        return f"{self.server}/browse/{key}"

    def find_by_label(self, project: str, label: str) -> list[JiraIssue]:
        """Issues of ``project`` carrying ``label``, oldest first."""
        if not _LABEL.fullmatch(label):
            raise InputError(f"{label!r} cannot be used as a JIRA label (no spaces or quotes)")
        jql = f'project = "{project}" AND labels = "{label}" ORDER BY created ASC'
        found = self._retrying(
            "search for the deployment's ticket",
            lambda: self._client().search_issues(
                jql, maxResults=10, fields=["summary", "labels"], json_result=True
            ),
        )
        issues = []
        for raw in found.get("issues", []):
            fields = raw.get("fields") or {}
            issues.append(
                JiraIssue(
                    key=str(raw["key"]),
                    url=self.issue_url(str(raw["key"])),
                    summary=str(fields.get("summary") or ""),
                    labels=tuple(fields.get("labels") or ()),
                )
            )
        return issues

    def create_once(
        self, project: str, label: str, fields: dict[str, Any]
    ) -> tuple[JiraIssue, bool]:
        """The issue labelled ``label``: found, or created once. True when this call made it."""
        fields = {**fields, "labels": sorted({*fields.get("labels", ()), label})}
        last: Exception | None = None
        for attempt, delay in enumerate((*self._delays, None)):
            existing = self.find_by_label(project, label)
            if existing:
                return existing[0], False
            try:
                made = self._client().create_issue(fields=fields, prefetch=False)
            except Exception as exc:
                if not self._transient(exc) or delay is None:
                    raise self._error(exc, "create the ticket", attempt + 1) from exc
                last = exc
                time.sleep(self._wait(exc, delay))
                continue
            key = str(made.key)
            return JiraIssue(key=key, url=self.issue_url(key), summary=fields.get("summary", ""),
                             labels=tuple(fields["labels"])), True
        raise self._error(last or RuntimeError("no attempt"), "create the ticket", 0)

    def remote_link_urls(self, key: str) -> set[str]:
        links = self._retrying("read the ticket's links", lambda: self._client().remote_links(key))
        return {str(link.raw.get("object", {}).get("url")) for link in links}

    def add_links(self, key: str, links: Sequence[tuple[str, str]], *,
                  fresh: bool = False) -> list[str]:
        """Add web links (url, title) the issue does not have yet; return the problems.

        ``fresh``: the issue was just created, so it has no links and they are not read first.
        A link that cannot be added is reported, not raised: the ticket itself exists.
        """
        problems = []
        try:
            present = set() if fresh else self.remote_link_urls(key)
        except ServiceError as exc:
            return [str(exc)]
        for url, title in links:
            if url in present:
                continue
            try:
                self._once("add a link to the ticket",
                           partial(self._client().add_simple_link, key,
                                   {"url": url, "title": title}))
            except ServiceError as exc:
                problems.append(f"{title}: {exc}")
        return problems

    def comment_bodies(self, key: str) -> list[str]:
        comments = self._retrying("read the ticket's comments",
                                  lambda: self._client().comments(key))
        return [str(c.raw.get("body") or "") for c in comments]

    def add_comment_once(self, key: str, body: str, marker: str) -> bool:
        """Add ``body`` unless a comment containing ``marker`` exists; True when added."""
        for attempt, delay in enumerate((*self._delays, None)):
            if any(marker in text for text in self.comment_bodies(key)):
                return False
            try:
                self._client().add_comment(key, body)
                return True
            except Exception as exc:
                if not self._transient(exc) or delay is None:
                    raise self._error(exc, "comment on the ticket", attempt + 1) from exc
                time.sleep(self._wait(exc, delay))
        return False  # pragma: no cover - the loop returns or raises

    def check(self, project: str, issue_type: str | None = None) -> str:
        """Who we are on the server and whether the project (and issue type) can be used."""
        me = self._retrying("read the current user", lambda: self._client().myself())
        found = self._retrying(
            f"read project {project}",
            lambda: self._client().project(project, expand="issueTypes"),
        )
        kind = "Cloud" if self.is_cloud else "Server/Data Center"
        who = me.get("displayName") or me.get("name") or me.get("emailAddress") or "?"
        text = f"{mask_url(self.server)} ({kind}) as {who}, project {project}"
        if issue_type:
            names = [str(getattr(t, "name", "")) for t in getattr(found, "issueTypes", [])]
            if names and issue_type not in names:
                raise ServiceError(
                    "JIRA",
                    f"project {project} has no issue type {issue_type!r}",
                    hint=f"use --issue-type with one of: {', '.join(sorted(names))}",
                )
            text += f", issue type {issue_type}"
        return text

    # --- plumbing -----------------------------------------------------------------------------
    def _client(self) -> Any:
        if self._jira is None:
            self._jira = self._retrying("connect", self._connect)
        return self._jira

    def _connect(self) -> Any:
        from jira import JIRA

        auth: dict[str, Any] = {}
        if self._email and self._token:
            auth["basic_auth"] = (self._email, self._token)
        elif self._token:
            auth["token_auth"] = self._token
        return JIRA(
            server=self.server,
            options={"verify": self._verify, "check_update": False},
            get_server_info=True,  # tells Cloud from Server, so search uses search/jql on Cloud
            max_retries=0,
            timeout=(min(10.0, self._timeout), self._timeout),
            logging=False,
            **auth,
        )

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        """Run a read-only call; retry 5xx, 429 and timeouts with the configured delays."""
        for attempt, delay in enumerate((*self._delays, None)):
            try:
                return call()
            except Exception as exc:
                if not self._transient(exc) or delay is None:
                    raise self._error(exc, what, attempt + 1) from exc
                time.sleep(self._wait(exc, delay))
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:
            raise self._error(exc, what, 1) from exc

    @staticmethod
    def _transient(exc: Exception) -> bool:
        import requests
        from jira import JIRAError

        if isinstance(exc, JIRAError):
            return exc.status_code is not None and (exc.status_code >= 500 or
                                                    exc.status_code == 429)
        # an answer cut short (ChunkedEncodingError) may follow a create that happened
        return isinstance(exc, (requests.ConnectionError, requests.Timeout,
                                requests.exceptions.ChunkedEncodingError))

    @staticmethod
    def _wait(exc: Exception, delay: float) -> float:
        response = getattr(exc, "response", None)
        header = response.headers.get("Retry-After") if response is not None else None
        if header and header.strip().isdigit():
            return min(float(header), MAX_RETRY_AFTER)
        return delay

    def _error(self, exc: Exception, what: str, attempts: int) -> ServiceError:
        import requests
        from jira import JIRAError

        if isinstance(exc, ServiceError):  # already explained (the connection, say)
            return exc
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if isinstance(exc, JIRAError):
            status = exc.status_code
            said = self._said(exc)
            hint = {
                401: "check DEPLOYTRAIL_JIRA_TOKEN (Server/Data Center: a personal access token; "
                "Cloud: also DEPLOYTRAIL_JIRA_EMAIL with an API token)",
                403: "the JIRA user may not do this in the project: ask a JIRA admin for "
                "'Create issues' and 'Add comments' permissions",
                404: "check the server URL (context path) and the project key",
                410: "this JIRA retired the API used: upgrade the jira library",
            }.get(status or 0, "see what JIRA said above; --issue-type and --field values must "
                  "match the project's configuration" if status == 400 else None)
            where = mask_url(str(exc.url or self.server))
            return ServiceError(
                "JIRA",
                self._clean(f"could not {what}{tries}: HTTP {status} from {where}"),
                body=self._clean(said) or None,
                hint=hint,
            )
        if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
            kind = "timed out" if isinstance(exc, requests.Timeout) else "could not be reached"
            return ServiceUnavailable(
                "JIRA",
                f"{mask_url(self.server)} {kind} while trying to {what}{tries}",
                hint="check that the server is up and reachable from this agent; "
                "the step is safe to re-run: it finds a ticket it already filed",
            )
        return ServiceError("JIRA", self._clean(f"could not {what}: {exc}"))

    @staticmethod
    def _said(exc: Any) -> str:
        from jira.resilientsession import parse_errors

        response = getattr(exc, "response", None)
        if response is not None:
            try:
                messages = parse_errors(response)
            except Exception:  # an unreadable body is still worth quoting
                messages = [getattr(response, "text", "")]
            return shorten("; ".join(str(m) for m in messages if m))
        return shorten(str(getattr(exc, "text", "") or ""))

    def _clean(self, text: str) -> str:
        """Never let the token (or e-mail:token) appear in anything we raise."""
        import base64

        secrets = [self._token or ""]
        if self._email and self._token:
            basic = f"{self._email}:{self._token}".encode()
            secrets.append(base64.b64encode(basic).decode())
        for secret in sorted(secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text


#: The longest wait ``DEPLOYTRAIL_JIRA_RETRY_DELAYS`` may ask for between two tries.
MAX_RETRY_DELAY = 300.0


def retry_delays(text: str | None) -> tuple[float, ...]:
    """``DEPLOYTRAIL_JIRA_RETRY_DELAYS=1,3,8``: the waits between bounded retries, in seconds."""
    if not text:
        return DEFAULT_RETRY_DELAYS
    try:
        delays = tuple(float(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        delays = (-1.0,)
    if not all(0 <= delay <= MAX_RETRY_DELAY for delay in delays):  # also refuses nan and inf
        raise ConfigError(f"DEPLOYTRAIL_JIRA_RETRY_DELAYS={text!r} is not a list of seconds "
                          f"between 0 and {MAX_RETRY_DELAY:g}",
                          hint="e.g. DEPLOYTRAIL_JIRA_RETRY_DELAYS=1,3,8")
    return delays


def client_for(tickets: str, *, email: str | None = None, token: str | None = None,
               ca_bundle: str | None = None,
               delays: tuple[float, ...] | None = None) -> tuple[JiraClient, str]:
    """The client and project key for ``jira+https://HOST/KEY``; what is not given comes from
    ``DEPLOYTRAIL_JIRA_TOKEN``, ``_EMAIL``, ``_CA_BUNDLE`` and ``_RETRY_DELAYS``."""
    import os

    target = parse_jira_url(tickets)
    client = JiraClient(
        target.server,
        retry_delays=retry_delays(os.environ.get("DEPLOYTRAIL_JIRA_RETRY_DELAYS"))
        if delays is None else delays,
        token=token or os.environ.get("DEPLOYTRAIL_JIRA_TOKEN") or None,
        email=email or os.environ.get("DEPLOYTRAIL_JIRA_EMAIL") or None,
        verify=ca_bundle or os.environ.get("DEPLOYTRAIL_JIRA_CA_BUNDLE") or True,
    )
    return client, target.project


def check_project(tickets: str, issue_type: str | None = None) -> str:
    """``deploytrail doctor``: can we reach the JIRA that ``tickets`` names and file there?"""
    client, project = client_for(tickets, delays=(1.0,))  # a doctor answers quickly
    return client.check(project, issue_type)
