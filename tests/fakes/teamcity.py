"""A fake TeamCity server following the documented REST API (reference/teamcity.md §5).

Real HTTP on a free port (FakeAPI). It knows build configurations and builds, understands build
locators (``buildType``, ``branch``, ``status``, ``state``, ``pinned``, ``number``, ``tag``,
``property``, ``count``, ``defaultFilter`` and TeamCity's default filter), ``fields`` partial
responses (a list returns only basic fields unless asked), ``pinInfo``, ``tags``, ``buildQueue``
and ``testOccurrences``. Errors read like TeamCity's: 401 without a valid token, 403 with the
CSRF text for a POST/PUT that carries a session cookie but no CSRF token, 404 for unknown builds
or build configurations, 400 for a malformed locator or pin request, 415 for a POST/PUT body
not sent as JSON, and TeamCity's 500 text (``break_on(..., 500)``).

    tc = FakeTeamCity(token="t0k").start()
    tc.add_build_type("Api_Build")
    b = tc.add_build("Api_Build", status="SUCCESS", revision="abc…", tests=(120, 0, 1))
    tc.break_on("PUT", r"/pinInfo$", status=503)   # the server fails the pin
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from fakes.http import FakeAPI, Reply, Request

__all__ = ["CSRF_TEXT", "FakeBuild", "FakeTeamCity", "parse_locator"]

CSRF_TEXT = (
    "403 Forbidden: Responding with 403 status code due to failed CSRF check: authenticated "
    "POST request is made, but neither tc-csrf-token parameter nor X-TC-CSRF-Token header are "
    "provided.. For a temporary workaround, you can set internal property "
    "teamcity.csrf.paranoid=false and provide valid Origin=... header"
)

_BASIC_FIELDS = ("id", "buildTypeId", "number", "status", "state", "branchName",
                 "defaultBranch", "href", "webUrl")
_BUILD_DIMENSIONS = {"id", "number", "buildType", "status", "state", "running", "pinned",
                     "branch", "tag", "property", "count", "start", "lookupLimit",
                     "defaultFilter", "personal", "canceled", "failedToStart"}


def _split_top(text: str) -> list[str]:
    """Split at the commas outside parentheses: ``a,b(c,d),e`` → ``a``, ``b(c,d)``, ``e``."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_locator(text: str) -> dict[str, str]:
    """``a:b,c:(d:e,f:g)`` → ``{"a": "b", "c": "d:e,f:g"}``; a bare value is ``{"$": text}``."""
    result: dict[str, str] = {}
    for part in _split_top(text):
        if ":" not in part:
            result["$"] = part
            continue
        key, value = part.split(":", 1)
        if value.startswith("(") and value.endswith(")"):
            value = value[1:-1]
        result[key] = value
    return result


def parse_fields(text: str) -> dict[str, Any]:
    """``count,build(id,tags(tag(name)))`` → ``{"count": None, "build": {...}}``."""
    tree: dict[str, Any] = {}
    for key, value in parse_locator_like_fields(text):
        tree[key] = parse_fields(value) if value is not None else None
    return tree


def parse_locator_like_fields(text: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for piece in _split_top(text):
        piece = piece.strip()
        if not piece:
            continue
        if "(" in piece:
            name, rest = piece.split("(", 1)
            out.append((name, rest[:-1]))
        else:
            out.append((piece, None))
    return out


def apply_fields(data: Any, tree: dict[str, Any] | None) -> Any:
    if tree is None:
        return data
    if isinstance(data, list):
        return [apply_fields(item, tree) for item in data]
    if isinstance(data, dict):
        return {k: apply_fields(v, tree[k]) for k, v in data.items() if k in tree}
    return data


@dataclass
class FakeBuild:
    id: int
    build_type: str
    number: str | None
    status: str | None = "SUCCESS"
    state: str = "finished"
    branch: str = "main"
    default_branch: bool = True
    revision: str = "0" * 40
    passed: int = 10
    failed: int = 0
    muted: int = 0
    ignored: int = 0
    muted_names: list[str] = field(default_factory=list)
    status_text: str | None = None
    personal: bool = False
    canceled: bool = False
    pinned: bool = False
    pin_comment: str | None = None
    tags: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    comment: str | None = None


class FakeTeamCity:
    """One fake TeamCity server; ``tokens`` accepted as Bearer tokens, ``users`` for basic auth."""

    def __init__(self, token: str = "tc-token", users: dict[str, str] | None = None) -> None:
        self.api = FakeAPI()
        self.tokens = {token}
        self.users = users or {}
        self.build_types: set[str] = set()
        self.builds: dict[int, FakeBuild] = {}
        self._ids = itertools.count(100)
        self._breaks: list[tuple[str, re.Pattern[str], int, bool]] = []
        self._routes()

    # --- lifecycle and set-up -----------------------------------------------------------
    _shared: dict[str, FakeTeamCity] = {}  # noqa: RUF012 (one per process, by name)

    @classmethod
    def shared(cls, name: str, token: str = "tc-token") -> FakeTeamCity:
        """A started server kept for the whole test run, emptied: stopping one costs 0.5 s."""
        server = cls._shared.get(name)
        if server is None:
            server = cls._shared[name] = cls(token).start()
        server.reset(token)
        return server

    def reset(self, token: str = "tc-token") -> None:
        self.tokens = {token}
        self.build_types.clear()
        self.builds.clear()
        self._breaks.clear()
        with self.api._lock:
            self.api.requests.clear()

    def start(self) -> FakeTeamCity:
        self.api.start()
        return self

    def stop(self) -> None:
        self.api.stop()

    @property
    def url(self) -> str:
        return self.api.url

    def add_build_type(self, build_type: str) -> None:
        self.build_types.add(build_type)

    def add_build(self, build_type: str, *, status: str = "SUCCESS",
                  tests: tuple[int, int, int] = (10, 0, 0), **values: Any) -> FakeBuild:
        """A finished build; ``tests`` is (passed, failed, muted); newer builds get higher ids."""
        self.build_types.add(build_type)
        build_id = next(self._ids)
        number = values.pop("number", str(build_id - 99))
        passed, failed, muted = tests
        build = FakeBuild(build_id, build_type, number, status=status, passed=passed,
                          failed=failed, muted=muted, **values)
        if muted and not build.muted_names:
            build.muted_names = [f"tests.flaky.test_{i}" for i in range(muted)]
        self.builds[build_id] = build
        return build

    def break_on(self, method: str, path_re: str, status: int = 503, *, times: int = 1000,
                 after_work: bool = False) -> None:
        """Answer matching requests with ``status`` (after doing the work, if ``after_work``)."""
        for _ in range(times):
            self._breaks.append((method.upper(), re.compile(path_re), status, after_work))

    def queued(self) -> list[FakeBuild]:
        return [b for b in self.builds.values() if b.state == "queued"]

    def received(self, method: str | None = None, path_re: str | None = None) -> list[Request]:
        return self.api.received(method, path_re)

    # --- JSON ---------------------------------------------------------------------------
    def build_json(self, build: FakeBuild) -> dict[str, Any]:
        web = (f"{self.url}/viewQueued.html?itemId={build.id}" if build.state == "queued"
               else f"{self.url}/viewLog.html?buildId={build.id}&buildTypeId={build.build_type}")
        data: dict[str, Any] = {
            "id": build.id, "buildTypeId": build.build_type, "number": build.number,
            "status": build.status, "state": build.state, "branchName": build.branch,
            "defaultBranch": build.default_branch,
            "href": f"/app/rest/builds/id:{build.id}", "webUrl": web,
            "statusText": build.status_text or ("Success" if build.status == "SUCCESS"
                                                else "Failure"),
            "pinned": build.pinned, "personal": build.personal,
            "running": build.state == "running",
            "revisions": {"count": 1, "revision": [{
                "version": build.revision, "vcsBranchName": f"refs/heads/{build.branch}",
                "vcs-root-instance": {"id": "1", "name": "repo"}}]},
            "tags": {"count": len(build.tags), "tag": [{"name": t} for t in build.tags]},
            "properties": {"count": len(build.properties), "property": [
                {"name": k, "value": v} for k, v in build.properties.items()]},
        }
        if build.state == "queued":
            data["number"] = None
            data["status"] = None
        if build.pinned:
            data["pinInfo"] = {"status": True, "comment": {"text": build.pin_comment or ""}}
        total = build.passed + build.failed + build.muted + build.ignored
        if total and build.state != "queued":
            data["testOccurrences"] = {
                "count": total, "href": f"/app/rest/testOccurrences?locator=build:(id:{build.id})",
                "passed": build.passed, "failed": build.failed, "muted": build.muted,
                "ignored": build.ignored, "newFailed": build.failed}
        return data

    # --- HTTP ---------------------------------------------------------------------------
    def _routes(self) -> None:
        r = self.api.route
        r("GET", r"/app/rest/builds", self._guard(self._list_builds))
        r("GET", r"/app/rest/builds/(?P<loc>[^/]+)", self._guard(self._get_build))
        r("GET", r"/app/rest/builds/(?P<loc>[^/]+)/pinInfo", self._guard(self._get_pin))
        r("PUT", r"/app/rest/builds/(?P<loc>[^/]+)/pinInfo", self._guard(self._put_pin))
        r("GET", r"/app/rest/builds/(?P<loc>[^/]+)/tags", self._guard(self._get_tags))
        r("POST", r"/app/rest/builds/(?P<loc>[^/]+)/tags", self._guard(self._add_tags))
        r("POST", r"/app/rest/buildQueue", self._guard(self._queue))
        r("GET", r"/app/rest/testOccurrences", self._guard(self._tests))
        r("GET", r"/app/rest/server", self._guard(self._server))

    def _server(self, request: Request) -> Reply:
        data = {"version": "2025.03 (build 186049)", "versionMajor": 2025, "versionMinor": 3,
                "buildNumber": "186049", "webUrl": self.url}
        return Reply.json(apply_fields(data, self._fields(request)))

    def _guard(self, handler: Any) -> Any:
        def guarded(request: Request) -> Reply:
            refused = self._auth(request)
            if refused is not None:
                return refused
            unsupported = self._media_type(request)
            if unsupported is not None:
                return unsupported
            brk = self._take_break(request)
            if brk is not None and not brk[1]:
                return _failure(brk[0])
            reply = handler(request)
            if brk is not None:
                return _failure(brk[0])
            reply.headers.setdefault("Set-Cookie", "TCSESSIONID=ABC123; Path=/; HttpOnly")
            return reply

        return guarded

    def _take_break(self, request: Request) -> tuple[int, bool] | None:
        for i, (method, pattern, status, after) in enumerate(self._breaks):
            if method == request.method and pattern.search(request.path):
                del self._breaks[i]
                return status, after
        return None

    def _auth(self, request: Request) -> Reply | None:
        header = request.header("Authorization") or ""
        ok = header.startswith("Bearer ") and header[7:] in self.tokens
        if header.startswith("Basic "):
            import base64

            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            ok = self.users.get(user) == password
        if not ok:
            return Reply.text("Authentication required\nTo login manually go to \"/login.html\" "
                              "page", 401)
        cookie = request.header("Cookie") or ""
        if (request.method in {"POST", "PUT", "DELETE"} and "TCSESSIONID" in cookie
                and not request.header("X-TC-CSRF-Token")):
            return Reply.text(CSRF_TEXT, 403)
        return None

    @staticmethod
    def _media_type(request: Request) -> Reply | None:
        """TeamCity reads XML by default: a JSON body needs ``Content-Type: application/json``
        (``text/plain`` is also taken for one tag name)."""
        if request.method not in {"POST", "PUT"}:
            return None
        kind = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        if kind == "application/json" or (kind == "text/plain" and request.path.endswith("/tags")):
            return None
        return Reply.text("HTTP 415 Unsupported Media Type", 415)

    def _fields(self, request: Request) -> dict[str, Any] | None:
        spec = request.arg("fields")
        return parse_fields(spec) if spec else None

    def _find(self, locator: str) -> tuple[list[FakeBuild], Reply | None]:
        loc = parse_locator(locator)
        unknown = set(loc) - _BUILD_DIMENSIONS
        if unknown:
            dim = sorted(unknown)[0]
            return [], Reply.text(f"Error has occurred during request processing (Bad Request).\n"
                                  f"Error: jetbrains.buildServer.server.rest.errors."
                                  f"LocatorProcessException: Invalid locator '{locator}': "
                                  f"Locator dimension \"{dim}\" is unknown.", 400)
        if "id" in loc:
            build = self.builds.get(int(loc["id"])) if loc["id"].isdigit() else None
            return ([build] if build else []), None
        if "buildType" in loc:
            bt = parse_locator(loc["buildType"]).get("id", loc["buildType"])
            if bt not in self.build_types:
                return [], Reply.text(f"Error has occurred during request processing (Not Found)."
                                      f"\nError: jetbrains.buildServer.server.rest.errors."
                                      f"NotFoundException: No build type nor template is found "
                                      f"by id '{bt}'.", 404)
        found = []
        defaults = loc.get("defaultFilter", "true") != "false"
        for build in sorted(self.builds.values(), key=lambda b: -b.id):
            if not self._matches(build, loc, defaults):
                continue
            found.append(build)
        count = int(loc.get("count", "100"))
        return found[:count], None

    def _matches(self, b: FakeBuild, loc: dict[str, str], defaults: bool) -> bool:
        if "buildType" in loc:
            bt = parse_locator(loc["buildType"]).get("id", loc["buildType"])
            if b.build_type != bt:
                return False
        state = loc.get("state", "finished" if defaults else "any")
        if state != "any" and b.state != state:
            return False
        if "number" in loc and b.number != loc["number"]:
            return False
        if "status" in loc and b.status != loc["status"]:
            return False
        pinned = loc.get("pinned", "any")
        if pinned != "any" and b.pinned != (pinned == "true"):
            return False
        if "tag" in loc and loc["tag"] not in b.tags:
            return False
        if "property" in loc:
            prop = parse_locator(loc["property"])
            if b.properties.get(prop.get("name", "")) != prop.get("value"):
                return False
        if defaults and (b.personal or b.canceled):
            return False
        branch = loc.get("branch", "default:true" if defaults else "default:any")
        return self._branch_matches(b, branch)

    @staticmethod
    def _branch_matches(b: FakeBuild, branch: str) -> bool:
        spec = parse_locator(branch)
        plain = spec.get("default") is None and "name" not in spec and "$" not in spec
        if spec.get("default") == "true" or plain:
            return b.default_branch
        if spec.get("default") == "any" or spec.get("$") == "<any>":
            return True
        if spec.get("default") == "false":
            return not b.default_branch
        name = spec.get("name", spec.get("$"))
        return b.branch == name

    def _list_builds(self, request: Request) -> Reply:
        found, error = self._find(request.arg("locator") or "")
        if error:
            return error
        tree = self._fields(request)
        items = [self.build_json(b) for b in found]
        if tree is None:
            items = [{k: v for k, v in item.items() if k in _BASIC_FIELDS} for item in items]
            return Reply.json({"count": len(items), "build": items})
        body = {"count": len(items), "href": "/app/rest/builds", "build": items}
        return Reply.json(apply_fields(body, tree))

    def _one(self, request: Request) -> tuple[FakeBuild | None, Reply | None]:
        locator = request.params["loc"]
        found, error = self._find(locator)
        if error:
            return None, error
        if not found:
            return None, Reply.text(f"Error has occurred during request processing (Not Found).\n"
                                    f"Error: jetbrains.buildServer.server.rest.errors."
                                    f"NotFoundException: No build found by locator '{locator}'.",
                                    404)
        return found[0], None

    def _get_build(self, request: Request) -> Reply:
        build, error = self._one(request)
        if build is None:
            return error or Reply.text("?", 500)
        tree = self._fields(request)
        return Reply.json(apply_fields(self.build_json(build), tree))

    def _get_pin(self, request: Request) -> Reply:
        build, error = self._one(request)
        if build is None:
            return error or Reply.text("?", 500)
        pin: dict[str, Any] = {"status": build.pinned}
        if build.pinned:
            pin["comment"] = {"text": build.pin_comment or ""}
        return Reply.json(pin)

    def _put_pin(self, request: Request) -> Reply:
        build, error = self._one(request)
        if build is None:
            return error or Reply.text("?", 500)
        body = request.json() or {}
        if "status" not in body:
            return Reply.text("Pin status should be specified in the payload", 400)
        if build.state != "finished":
            return Reply.text("Cannot pin build that is not finished.", 400)
        build.pinned = bool(body["status"])
        build.pin_comment = (body.get("comment") or {}).get("text")
        return Reply.json({"status": build.pinned, "comment": {"text": build.pin_comment}})

    def _get_tags(self, request: Request) -> Reply:
        build, error = self._one(request)
        if build is None:
            return error or Reply.text("?", 500)
        return Reply.json({"count": len(build.tags), "tag": [{"name": t} for t in build.tags]})

    def _add_tags(self, request: Request) -> Reply:
        build, error = self._one(request)
        if build is None:
            return error or Reply.text("?", 500)
        if (request.header("Content-Type") or "").startswith("text/plain"):
            body = {"tag": [{"name": request.body.decode().strip()}]}
        else:
            body = request.json() or {}
        for tag in body.get("tag") or []:
            if tag.get("name") and tag["name"] not in build.tags:
                build.tags.append(tag["name"])
        return Reply.json({"count": len(build.tags), "tag": [{"name": t} for t in build.tags]})

    def _queue(self, request: Request) -> Reply:
        body = request.json() or {}
        bt = (body.get("buildType") or {}).get("id")
        if bt not in self.build_types:
            return Reply.text(f"Error has occurred during request processing (Not Found).\nError: "
                              f"jetbrains.buildServer.server.rest.errors.NotFoundException: No "
                              f"build type nor template is found by id '{bt}'.", 404)
        props = {p["name"]: p["value"] for p in (body.get("properties") or {}).get("property", [])}
        build = FakeBuild(next(self._ids), bt, None, status=None, state="queued",
                          properties=props, comment=(body.get("comment") or {}).get("text"))
        self.builds[build.id] = build
        data = self.build_json(build)
        data["href"] = f"/app/rest/buildQueue/id:{build.id}"
        return Reply.json(apply_fields(data, self._fields(request)))

    def _tests(self, request: Request) -> Reply:
        loc = parse_locator(request.arg("locator") or "")
        build_loc = parse_locator(loc.get("build", ""))
        build = self.builds.get(int(build_loc.get("id", "0")))
        if build is None:
            return Reply.text("Nothing is found by locator", 404)
        tests = [{"name": n, "status": "FAILURE", "muted": True} for n in build.muted_names]
        tests += [{"name": f"tests.broken.test_{i}", "status": "FAILURE", "muted": False}
                  for i in range(build.failed)]
        if loc.get("muted") in {"true", "false"}:
            tests = [t for t in tests if t["muted"] == (loc["muted"] == "true")]
        if "status" in loc:
            tests = [t for t in tests if t["status"] == loc["status"]]
        tests = tests[: int(loc.get("count", "100"))]
        body = {"count": len(tests), "testOccurrence": tests}
        return Reply.json(apply_fields(body, self._fields(request)))


def _failure(status: int) -> Reply:
    """What TeamCity, or the proxy in front of it, answers with ``status``."""
    if status == 500:
        return Reply.text("Error has occurred during request processing (Internal Server Error)."
                          "\nError: java.lang.IllegalStateException: database connection lost",
                          500)
    return Reply.text(f"{status} Service Unavailable: server is restarting", status)
