"""A fake JIRA (Server/Data Center or Cloud) that the real ``jira`` library talks to.

It follows the documented REST API v2 closely enough for what deploytrail does: ``serverInfo``,
``myself``, ``field``, ``project``, ``issue`` create/get, search (``/rest/api/2/search`` on
Server; Cloud answers it with 410 like Atlassian does since 2025 and serves
``/rest/api/{2,3}/search/jql`` instead), comments and remote links. Authentication is checked:
Server wants ``Authorization: Bearer TOKEN``, Cloud wants basic ``EMAIL:TOKEN``.

Failure modes: ``fail_next(n, 503)`` (from FakeAPI), ``drop_create_responses(n)`` (the issue is
created, then the connection is closed before the answer), ``slow_create_responses(n, s)``
(the issue is created, then the answer waits ``s`` seconds).
"""

from __future__ import annotations

import base64
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from fakes.http import FakeAPI, Reply, Request

__all__ = ["FakeJira"]

API = r"/rest/api/(?P<v>2|3|latest)"
MAX_TEXT = 32767


class FakeJira(FakeAPI):
    def __init__(
        self,
        *,
        cloud: bool = False,
        token: str = "pat-secret-token-123",
        email: str = "robot@example.com",
        projects: tuple[str, ...] = ("CHG",),
        issue_types: tuple[str, ...] = ("Task", "Change", "Bug"),
        components: tuple[str, ...] = ("api", "payments"),
        custom_fields: tuple[str, ...] = ("customfield_10010", "customfield_10020"),
    ) -> None:
        super().__init__()
        self.cloud = cloud
        self.token = token
        self.email = email
        self.projects = {key: str(10000 + i) for i, key in enumerate(projects)}
        self.issue_types = {name: str(1 + i) for i, name in enumerate(issue_types)}
        self.components = set(components)
        self.custom_fields = set(custom_fields)
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.links: dict[str, list[dict[str, Any]]] = {}
        self._counter = 0
        self._state = threading.Lock()
        self._drop_creates = 0
        self._cut_creates = 0
        self._slow_creates: list[float] = []
        self._routes()

    # --- failure modes ----------------------------------------------------------------------
    def drop_create_responses(self, count: int = 1) -> None:
        self._drop_creates += count

    def cut_create_responses(self, count: int = 1) -> None:
        """Create the issue, then send only half of the answer."""
        self._cut_creates += count

    def slow_create_responses(self, count: int, seconds: float) -> None:
        self._slow_creates.extend([seconds] * count)

    def _handle(self, http: Any) -> None:  # type: ignore[override]
        path = urlsplit(http.path).path
        if self._drop_creates and http.command == "POST" and re.fullmatch(API + "/issue", path):
            self._drop_creates -= 1
            self.drop_next(1)
        if self._cut_creates and http.command == "POST" and re.fullmatch(API + "/issue", path):
            self._cut_creates -= 1
            self.cut_next(1)
        super()._handle(http)

    # --- routes -----------------------------------------------------------------------------
    def _routes(self) -> None:
        self.route("GET", API + "/serverInfo", self._auth(self._server_info))
        self.route("GET", API + "/myself", self._auth(self._myself))
        self.route("GET", API + "/field", self._auth(self._fields))
        self.route("GET", API + r"/project/(?P<key>[^/]+)", self._auth(self._project))
        self.route("POST", API + "/issue", self._auth(self._create))
        self.route("GET", API + r"/issue/(?P<key>[A-Z0-9_]+-\d+)", self._auth(self._issue))
        self.route("GET", API + "/search", self._auth(self._search_old))
        self.route("POST", API + "/search", self._auth(self._search_old))
        self.route("GET", API + "/search/jql", self._auth(self._search_jql))
        self.route("POST", API + "/search/jql", self._auth(self._search_jql))
        for method in ("GET", "POST"):
            self.route(method, API + r"/issue/(?P<key>[A-Z0-9_]+-\d+)/comment",
                       self._auth(self._comment))
            self.route(method, API + r"/issue/(?P<key>[A-Z0-9_]+-\d+)/remotelink",
                       self._auth(self._remotelink))

    def _auth(self, handler: Any) -> Any:
        def check(request: Request) -> Reply:
            given = request.header("Authorization") or ""
            if self.cloud:
                expected = "Basic " + base64.b64encode(
                    f"{self.email}:{self.token}".encode()
                ).decode()
            else:
                expected = f"Bearer {self.token}"
            if given != expected:
                return Reply.json({"errorMessages": ["You are not authenticated."]}, 401)
            return handler(request)  # type: ignore[no-any-return]

        return check

    def _server_info(self, request: Request) -> Reply:
        return Reply.json({
            "baseUrl": self.url,
            "version": "1001.0.0-SNAPSHOT" if self.cloud else "9.12.2",
            "versionNumbers": [1001, 0, 0] if self.cloud else [9, 12, 2],
            "deploymentType": "Cloud" if self.cloud else "Server",
            "serverTitle": "Fake JIRA",
        })

    def _myself(self, request: Request) -> Reply:
        return Reply.json({"name": "robot", "displayName": "Deploy Robot"})

    def _fields(self, request: Request) -> Reply:
        system = ["summary", "description", "labels", "components", "issuetype", "project"]
        listed = [{"id": f, "name": f.title(), "custom": False, "clauseNames": [f]}
                  for f in system]
        listed += [{"id": f, "name": f, "custom": True,
                    "clauseNames": [f"cf[{f.split('_')[1]}]"]} for f in sorted(self.custom_fields)]
        return Reply.json(listed)

    def _project(self, request: Request) -> Reply:
        key = request.params["key"]
        if key not in self.projects:
            return Reply.json({"errorMessages": [f"No project could be found with key '{key}'."]},
                              404)
        return Reply.json({
            "id": self.projects[key], "key": key, "name": key,
            "self": f"{self.url}/rest/api/2/project/{self.projects[key]}",
            "issueTypes": [{"id": i, "name": n, "self": f"{self.url}/rest/api/2/issuetype/{i}"}
                           for n, i in self.issue_types.items()],
        })

    def _create(self, request: Request) -> Reply:
        fields = (request.json() or {}).get("fields", {})
        errors = self._validate(fields)
        if errors:
            return Reply.json({"errorMessages": [], "errors": errors}, 400)
        with self._state:
            project = fields["project"].get("key") or next(
                k for k, v in self.projects.items() if v == fields["project"].get("id"))
            self._counter += 1
            key = f"{project}-{self._counter}"
            self.issues[key] = {"id": str(20000 + self._counter), "key": key, "fields": fields,
                                "created": time.time() + self._counter}
        if self._slow_creates:
            time.sleep(self._slow_creates.pop(0))
        return Reply.json({"id": self.issues[key]["id"], "key": key,
                           "self": f"{self.url}/rest/api/2/issue/{self.issues[key]['id']}"}, 201)

    def _validate(self, fields: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        project = fields.get("project") or {}
        if project.get("key") not in self.projects and project.get("id") not in \
                self.projects.values():
            errors["project"] = "valid project is required"
        issuetype = fields.get("issuetype") or {}
        if issuetype.get("name") not in self.issue_types and issuetype.get("id") not in \
                self.issue_types.values():
            errors["issuetype"] = "valid issue type is required"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif "\n" in summary or "\r" in summary:
            errors["summary"] = "The summary is invalid because it contains newline characters."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        description = fields.get("description")
        if description is not None and not isinstance(description, str):
            errors["description"] = "Operation value must be a string"
        elif description and len(description) > MAX_TEXT:
            errors["description"] = ("The entered text is too long. It exceeds the allowed limit "
                                     "of 32,767 characters.")
        for label in fields.get("labels") or []:
            if not isinstance(label, str) or " " in label or len(label) > 255:
                errors["labels"] = "The label must not contain spaces."
        for component in fields.get("components") or []:
            if component.get("name") not in self.components:
                errors["components"] = f"Component name '{component.get('name')}' is not valid"
        known = {"project", "issuetype", "summary", "description", "labels", "components"}
        for name in fields:
            if name not in known and name not in self.custom_fields:
                errors[name] = (f"Field '{name}' cannot be set. It is not on the appropriate "
                                "screen, or unknown.")
        return errors

    def _issue(self, request: Request) -> Reply:
        issue = self.issues.get(request.params["key"])
        if issue is None:
            return Reply.json({"errorMessages": ["Issue Does Not Exist"]}, 404)
        return Reply.json(self._public(issue))

    def _public(self, issue: dict[str, Any]) -> dict[str, Any]:
        return {"id": issue["id"], "key": issue["key"],
                "self": f"{self.url}/rest/api/2/issue/{issue['id']}", "fields": issue["fields"]}

    def _matching(self, jql: str) -> list[dict[str, Any]]:
        project = re.search(r'project\s*=\s*"?([A-Z0-9_]+)"?', jql)
        label = re.search(r'labels\s*=\s*"([^"]+)"', jql)
        with self._state:
            found = [
                issue for issue in self.issues.values()
                if (project is None or issue["key"].startswith(project.group(1) + "-"))
                and (label is None or label.group(1) in (issue["fields"].get("labels") or []))
            ]
        return sorted(found, key=lambda i: i["created"])

    def _jql(self, request: Request) -> str:
        if request.method == "POST":
            return str((request.json() or {}).get("jql", ""))
        return request.arg("jql", "") or ""

    def _search_old(self, request: Request) -> Reply:
        if self.cloud:
            return Reply.json({"errorMessages": [
                "The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
                "API. A full migration guideline is available at "
                "https://developer.atlassian.com/changelog/#CHANGE-2046"]}, 410)
        found = self._matching(self._jql(request))
        return Reply.json({"startAt": 0, "maxResults": 50, "total": len(found),
                           "issues": [self._public(i) for i in found]})

    def _search_jql(self, request: Request) -> Reply:
        if not self.cloud:
            return Reply.text("Not Found", 404)
        found = self._matching(self._jql(request))
        return Reply.json({"issues": [self._public(i) for i in found], "isLast": True})

    def _comment(self, request: Request) -> Reply:
        key = request.params["key"]
        if key not in self.issues:
            return Reply.json({"errorMessages": ["Issue Does Not Exist"]}, 404)
        comments = self.comments.setdefault(key, [])
        if request.method == "POST":
            body = (request.json() or {}).get("body")
            comment = {"id": str(len(comments) + 1), "body": body,
                       "self": f"{self.url}/rest/api/2/issue/{key}/comment/{len(comments) + 1}"}
            comments.append(comment)
            return Reply.json(comment, 201)
        return Reply.json({"startAt": 0, "maxResults": 1048576, "total": len(comments),
                           "comments": comments})

    def _remotelink(self, request: Request) -> Reply:
        key = request.params["key"]
        if key not in self.issues:
            return Reply.json({"errorMessages": ["Issue Does Not Exist"]}, 404)
        links = self.links.setdefault(key, [])
        if request.method == "POST":
            data = request.json() or {}
            link = {"id": 100 + len(links), "object": data.get("object", {}),
                    "self": f"{self.url}/rest/api/2/issue/{key}/remotelink/{100 + len(links)}"}
            links.append(link)
            return Reply.json({"id": link["id"], "self": link["self"]}, 201)
        return Reply.json(links)

    # --- what tests look at -----------------------------------------------------------------
    def created(self) -> list[dict[str, Any]]:
        with self._state:
            return [issue["fields"] for issue in self.issues.values()]
