"""A thin TeamCity REST client: find, pin and tag builds, queue a build, read a build's status.

Token requests use ``Authorization: Bearer`` and keep no session cookie, so TeamCity skips its
CSRF check on POST/PUT (its documented advice for non-browser clients). Reads are retried a few
times on 5xx and connection errors; a pin or a queue request is never blindly repeated: after a
5xx or a lost answer the client looks at the server's state, and when it cannot even do that it
raises :class:`WriteUnconfirmed` (done or not: unknown) rather than claim either.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import quote, urlsplit

from deploytrail.errors import InputError, ServiceError, ServiceUnavailable

__all__ = [
    "REQUEST_ID_PROPERTY",
    "Build",
    "QueuedBuild",
    "TeamCityClient",
    "TestCounts",
    "WriteUnconfirmed",
    "branch_locator",
    "build_id_problem",
    "build_type_problem",
    "locator_value_problem",
]

#: Property a queued build carries so a failed queue request can be checked, not repeated.
REQUEST_ID_PROPERTY = "deploytrail.request_id"

_TESTS = "testOccurrences(count,passed,failed,muted,ignored,newFailed)"
_BUILD_FIELDS = (
    "id,buildTypeId,number,status,state,branchName,defaultBranch,webUrl,pinned,statusText,"
    f"finishDate,revisions(revision(version,vcsBranchName)),tags(tag(name)),{_TESTS}"
)


class WriteUnconfirmed(ServiceError):
    """A pin or queue request whose answer was lost, and the server could not be asked after:
    it may or may not have been done. Never repeat it blindly."""


class _NotSent(ServiceUnavailable):
    """No connection could be made: the request surely did nothing on the server."""


@dataclass(frozen=True)
class TestCounts:
    """A build's test results as TeamCity counts them: a muted failure is under ``muted``."""

    __test__ = False  # not a pytest test class

    passed: int = 0
    failed: int = 0
    muted: int = 0
    ignored: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TestCounts:
        data = data or {}
        return cls(*(int(data.get(k) or 0) for k in ("passed", "failed", "muted", "ignored")))


@dataclass(frozen=True)
class Build:
    """One TeamCity build, as much of it as deploytrail uses."""

    id: str
    build_type_id: str
    number: str | None
    status: str | None
    state: str
    branch_name: str | None
    web_url: str | None
    pinned: bool
    status_text: str | None
    revision: str | None
    tags: tuple[str, ...]
    tests: TestCounts

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Build:
        revisions = (data.get("revisions") or {}).get("revision") or []
        tags = (data.get("tags") or {}).get("tag") or []
        return cls(
            id=str(data["id"]),
            build_type_id=str(data.get("buildTypeId") or ""),
            number=data.get("number"),
            status=data.get("status"),
            state=str(data.get("state") or "finished"),
            branch_name=data.get("branchName"),
            web_url=data.get("webUrl"),
            pinned=bool(data.get("pinned")),
            status_text=data.get("statusText"),
            revision=revisions[0].get("version") if revisions else None,
            tags=tuple(str(t.get("name")) for t in tags),
            tests=TestCounts.from_json(data.get("testOccurrences")),
        )

    @property
    def green(self) -> bool:
        """Finished, SUCCESS, and no failed test (muted failures do not count)."""
        return self.state == "finished" and self.status == "SUCCESS" and self.tests.failed == 0

    def why_not_green(self) -> str:
        if self.state != "finished":
            return f"it is {self.state}, not finished"
        if self.status != "SUCCESS":
            text = f": {self.status_text}" if self.status_text else ""
            verb = "failed" if self.status == "FAILURE" else f"ended {self.status}"
            return f"it {verb}{text}"
        if self.tests.failed:
            return f"it is {self.status} but has {self.tests.failed} failed test(s)"
        return "it is green"


@dataclass(frozen=True)
class QueuedBuild:
    id: str
    web_url: str
    state: str = "queued"


_BUILD_TYPE_ID = re.compile(r"[A-Za-z0-9_]{1,225}")


def build_type_problem(value: str) -> str | None:
    """Why ``value`` cannot be a build configuration id (it goes into locators), or None."""
    if _BUILD_TYPE_ID.fullmatch(value):
        return None
    return (f"{value!r} is not a TeamCity build configuration id: use its ID (letters, digits "
            "and '_', e.g. Api_Build), not its name")


def build_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a TeamCity build id (the internal number, not the build number)."""
    return None if value.isascii() and value.isdigit() else f"{value!r} is not a build id (digits)"


def locator_value_problem(value: str) -> str | None:
    """Why a branch name or build number cannot go into a TeamCity locator as is, or None."""
    bad = sorted({c for c in value if c in ",()" or not c.isprintable()})
    if not value.strip():
        return "is empty"
    if bad:
        return f"{value!r} has {' '.join(map(repr, bad))}, which a TeamCity locator cannot carry"
    return None


def _safe(what: str, value: str, problem: str | None) -> str:
    if problem:
        raise InputError(f"{what} {problem}",
                         hint="fix the alias ('deploytrail alias add' replaces it) or the option")
    return value


def branch_locator(branch: str | None) -> str:
    """``branch:(default:true)`` for the default branch, else the named branch."""
    if not branch:
        return "branch:(default:true)"
    if branch in {"*", "<any>", "any"}:
        return "branch:(default:any)"
    return f"branch:(name:{_safe('branch', branch, locator_value_problem(branch))})"


class _NoCookies(DefaultCookiePolicy):
    """Keep no TCSESSIONID: a token request without a session skips TeamCity's CSRF check."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False


class TeamCityClient:
    """One TeamCity server. ``token`` (Bearer) or ``username``/``password`` (build credentials)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.3,
    ) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.server = urlsplit(self.base_url).netloc or self.base_url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._session = requests.Session()
        self._session.cookies.set_policy(_NoCookies())
        self._session.headers["Accept"] = "application/json"
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        elif username is not None and password is not None:
            self._session.auth = (username, password)

    # --- reads --------------------------------------------------------------------------
    def latest_builds(
        self, build_type: str, branch: str | None = None, count: int = 20
    ) -> list[Build]:
        """Newest first: finished, non-personal, non-canceled builds of ``build_type``."""
        locator = (f"buildType:(id:{_type(build_type)}),{branch_locator(branch)},"
                   f"state:finished,count:{count}")
        return self._builds(locator, build_type)

    def build_by_number(
        self, build_type: str, number: str, branch: str | None = None
    ) -> Build | None:
        number = _safe("build number", number, locator_value_problem(number))
        locator = (f"buildType:(id:{_type(build_type)}),number:{number},"
                   f"{branch_locator(branch)},count:1")
        found = self._builds(locator, build_type)
        return found[0] if found else None

    def pinned_builds(self, build_type: str, count: int = 10) -> list[Build]:
        """Newest first: pinned, successful builds of ``build_type`` on any branch."""
        locator = (
            f"buildType:(id:{_type(build_type)}),pinned:true,status:SUCCESS,"
            f"branch:(default:any),count:{count}"
        )
        return self._builds(locator, build_type)

    def build(self, build_id: str) -> Build:
        _safe("build id", build_id, build_id_problem(build_id))
        data = self._json("GET", f"/app/rest/builds/id:{build_id}",
                          params={"fields": _BUILD_FIELDS}, what=f"build {build_id}")
        return Build.from_json(data)

    def test_counts(self, build_id: str) -> TestCounts:
        data = self._json("GET", f"/app/rest/builds/id:{build_id}",
                          params={"fields": f"id,{_TESTS}"}, what=f"build {build_id}")
        return TestCounts.from_json(data.get("testOccurrences"))

    def muted_failures(self, build_id: str, count: int = 10) -> list[str]:
        """Names of the failed tests TeamCity reports as muted in this build."""
        data = self._json(
            "GET", "/app/rest/testOccurrences",
            params={"locator": f"build:(id:{build_id}),muted:true,status:FAILURE,count:{count}",
                    "fields": "count,testOccurrence(name,status,muted)"},
            what=f"tests of build {build_id}",
        )
        return [str(t.get("name")) for t in data.get("testOccurrence") or []]

    def build_status(self, build_id: str) -> str:
        """``SUCCESS`` or ``FAILURE`` (``UNKNOWN`` when canceled); works while it runs."""
        data = self._json("GET", f"/app/rest/builds/id:{build_id}",
                          params={"fields": "id,status,state"}, what=f"build {build_id}")
        return str(data.get("status") or "UNKNOWN")

    def server_version(self) -> str:
        """The server's version text, e.g. ``2025.03 (build 186049)``; proves the token works."""
        data = self._json("GET", "/app/rest/server", params={"fields": "version"},
                          what="read the server version")
        return str(data.get("version") or "?")

    def is_pinned(self, build_id: str) -> bool:
        data = self._json("GET", f"/app/rest/builds/id:{build_id}/pinInfo",
                          what=f"pin of build {build_id}")
        return bool(data.get("status"))

    def artifact_url(self, build: Build, path: str | None = None) -> str:
        """Download link for one artifact, or for all of them as a zip when ``path`` is None."""
        spec = f"{quote(build.build_type_id)}/{build.id}:id"
        if path:
            return f"{self.base_url}/repository/download/{spec}/{quote(path.lstrip('/'))}"
        return f"{self.base_url}/repository/downloadAll/{spec}"

    # --- writes (never blindly repeated) ------------------------------------------------
    def pin(self, build: Build, comment: str) -> None:
        """Pin a finished build with ``comment``; after a failed request, check before failing."""
        what = f"pin build #{build.number} of {build.build_type_id}"
        body = {"status": True, "comment": {"text": comment}}
        try:
            self._send("PUT", f"/app/rest/builds/id:{build.id}/pinInfo", body, what=what)
        except ServiceError as error:
            if _surely_not_done(error):
                raise
            try:
                pinned = self.is_pinned(build.id)
            except ServiceError:
                raise _unconfirmed(error, "whether the build is pinned now") from None
            if pinned:
                return
            raise

    def add_tag(self, build: Build, tag: str) -> None:
        """Add one tag; adding a tag twice is harmless, so this is safe to repeat."""
        self._send("POST", f"/app/rest/builds/id:{build.id}/tags", {"tag": [{"name": tag}]},
                   what=f"tag build #{build.number} of {build.build_type_id}")

    def queue_build(
        self, build_type: str, properties: Mapping[str, str], comment: str
    ) -> QueuedBuild:
        """Queue ``build_type``; if the request fails, look for it in the queue before failing."""
        _type(build_type)
        request_id = str(uuid.uuid4())
        props = [{"name": k, "value": v} for k, v in {**properties,
                                                     REQUEST_ID_PROPERTY: request_id}.items()]
        body = {"buildType": {"id": build_type}, "comment": {"text": comment},
                "properties": {"property": props}}
        what = f"queue {build_type}"
        try:
            data = self._send("POST", "/app/rest/buildQueue", body, what=what)
        except ServiceError as error:
            if _surely_not_done(error):
                raise
            try:
                found = self._find_queued(build_type, request_id)
            except ServiceError:
                raise _unconfirmed(error, f"whether {build_type} is queued now (look for a "
                                   f"build with {REQUEST_ID_PROPERTY}={request_id})") from None
            if found is not None:
                return found
            raise
        return QueuedBuild(str(data.get("id")), str(data.get("webUrl") or ""),
                           str(data.get("state") or "queued"))

    def _find_queued(self, build_type: str, request_id: str) -> QueuedBuild | None:
        locator = (f"buildType:(id:{build_type}),state:any,defaultFilter:false,"
                   f"property:(name:{REQUEST_ID_PROPERTY},value:{request_id}),count:1")
        data = self._json("GET", "/app/rest/builds",
                          params={"locator": locator, "fields": "build(id,state,webUrl)"},
                          what=f"look for the queued {build_type}")
        builds = data.get("build") or []
        if not builds:
            return None
        return QueuedBuild(str(builds[0]["id"]), str(builds[0].get("webUrl") or ""),
                           str(builds[0].get("state") or "queued"))

    # --- plumbing -----------------------------------------------------------------------
    def _builds(self, locator: str, build_type: str) -> list[Build]:
        data = self._json("GET", "/app/rest/builds",
                          params={"locator": locator, "fields": f"count,build({_BUILD_FIELDS})"},
                          what=f"builds of {build_type}")
        return [Build.from_json(b) for b in data.get("build") or []]

    def _json(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              what: str) -> dict[str, Any]:
        """A read: retried on connection errors and 5xx, at most ``retries`` more times."""
        attempt = 0
        while True:
            try:
                return self._request(method, path, params=params, what=what)
            except ServiceError as error:
                retryable = error.status is None or error.status >= 500
                if not retryable or attempt >= self.retries:
                    raise
            attempt += 1
            time.sleep(self.backoff * attempt)

    def _send(self, method: str, path: str, body: object, *, what: str) -> dict[str, Any]:
        return self._request(method, path, json_body=body, what=what)

    def _request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                 json_body: object = None, what: str) -> dict[str, Any]:
        import requests

        url = self.base_url + path
        service = f"TeamCity {self.server}"
        try:
            response = self._session.request(method, url, params=params, json=json_body,
                                             timeout=self.timeout)
        except requests.RequestException as exc:
            raise (_NotSent if _never_sent(exc) else ServiceUnavailable)(
                service, f"could not {what}: {type(exc).__name__}", method=method, url=url,
                hint=f"check that {self.base_url} is reachable from here",
            ) from None
        finally:
            self._session.cookies.clear()
        if response.status_code >= 400:
            raise ServiceError(service, f"could not {what}", method=method, url=url,
                               status=response.status_code, body=response.text,
                               hint=_hint(response.status_code, response.text, self.base_url))
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            raise ServiceError(service, f"could not {what}: the answer is not JSON",
                               method=method, url=url, status=response.status_code,
                               body=response.text) from None
        return data if isinstance(data, dict) else {"value": data}


def _type(build_type: str) -> str:
    return _safe("build type", build_type, build_type_problem(build_type))


def _never_sent(exc: Exception) -> bool:
    """True when no connection was made (refused, unknown host, connect timeout)."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError  # NewConnectionError is one

    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, ConnectTimeoutError)


def _surely_not_done(error: ServiceError) -> bool:
    """A write the server refused (4xx) or never received; a 5xx or a lost answer is unsure."""
    return isinstance(error, _NotSent) or (error.status is not None and error.status < 500)


def _unconfirmed(error: ServiceError, question: str) -> WriteUnconfirmed:
    told = WriteUnconfirmed(error.service, f"{error.message.removeprefix(error.service + ': ')}"
                            f"; the server could not be asked {question}")
    told.status, told.method, told.url, told.body = error.status, error.method, error.url, \
        error.body
    return told


def _hint(status: int, text: str, base_url: str) -> str | None:
    if status == 401:
        return "the token was refused: check the DEPLOYTRAIL_*_TEAMCITY_TOKEN variable"
    if status == 403 and "CSRF" in text:
        return "TeamCity wants a CSRF token: use an access token (Bearer), not a password session"
    if status == 403:
        return "the token's user lacks a permission for this (pin, tag or run builds)"
    if status == 404:
        return f"check the build configuration id on {base_url}"
    return None
