"""A fake Kibana saved-objects import API, following Kibana's documented behaviour.

``POST [/s/SPACE]/api/saved_objects/_import[?overwrite=true]``, multipart field ``file`` (an
``.ndjson`` file), header ``kbn-xsrf`` required. The answer is HTTP 200 with ``success`` false
when some objects fail (unsupported type, missing references, conflict without overwrite);
those objects are not stored, the others are. Objects are kept per space.

    kibana = FakeKibana(fake_api, api_key="k3y")
    ...  # point the real client at kibana.url
    assert kibana.stored("default")[("search", ID)]["attributes"]["title"] == ...
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from fakes.http import FakeAPI, Reply, Request

__all__ = ["FakeKibana", "Upload"]

#: Types a Kibana 8.9+ imports (a subset; enough for deploytrail's objects and a few others).
KNOWN_TYPES = frozenset(
    {"index-pattern", "search", "visualization", "event-annotation-group", "lens", "dashboard"}
)


@dataclass
class Upload:
    """One import request as the fake saw it."""

    space: str
    overwrite: bool
    filename: str
    content_type: str
    objects: list[dict[str, Any]] = field(default_factory=list)


class FakeKibana:
    def __init__(
        self,
        api: FakeAPI,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        known_types: frozenset[str] = KNOWN_TYPES,
    ) -> None:
        self.api = api
        self.api_key = api_key
        self.basic = (username, password) if username else None
        self.known_types = known_types
        self.uploads: list[Upload] = []
        self._saved: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        api.route("POST", r"(?:/s/(?P<space>[a-z0-9_\-]+))?/api/saved_objects/_import",
                  self._import)
        api.route("GET", r"(?:/s/(?P<space>[a-z0-9_\-]+))?/api/status", self._status)

    @property
    def url(self) -> str:
        return self.api.url

    def stored(self, space: str = "default") -> dict[tuple[str, str], dict[str, Any]]:
        return self._saved.get(space, {})

    # --- the endpoint -------------------------------------------------------------------
    def _import(self, request: Request) -> Reply:
        if request.header("kbn-xsrf") is None:
            return _error(400, "Bad Request", "Request must contain a kbn-xsrf header.")
        if not self._authorised(request.header("Authorization")):
            return _error(401, "Unauthorized",
                          "[security_exception]: unable to authenticate user")
        content_type = request.header("Content-Type") or ""
        if not content_type.startswith("multipart/form-data"):
            return _error(415, "Unsupported Media Type", "Unsupported Media Type")
        files = _multipart(content_type, request.body)
        if "file" not in files:
            return _error(400, "Bad Request", "[request body.file]: expected value of type "
                          "[Stream] but got [undefined]")
        filename, part_type, data = files["file"]
        if not filename.endswith(".ndjson"):
            extension = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
            return _error(400, "Bad Request", f"Invalid file extension {extension}")
        try:
            objects = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        except ValueError as error:
            return _error(400, "Bad Request", f"Unexpected token in JSON: {error}")
        space = request.params.get("space", "default")
        overwrite = request.arg("overwrite") == "true"
        self.uploads.append(Upload(space, overwrite, filename, part_type, objects))
        return Reply.json(self._apply(space, overwrite, objects))

    def _status(self, request: Request) -> Reply:
        """``GET /api/status``: Kibana's name, version and overall status."""
        if not self._authorised(request.header("Authorization")):
            return _error(401, "Unauthorized",
                          "[security_exception]: unable to authenticate user")
        return Reply.json({"name": "kibana", "version": {"number": "8.15.0",
                                                         "build_flavor": "default"},
                           "status": {"overall": {"level": "available"}}})

    def _authorised(self, header: str | None) -> bool:
        if self.api_key is None and self.basic is None:
            return True
        if self.api_key is not None and header == f"ApiKey {self.api_key}":
            return True
        if self.basic is not None and header and header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return (user, password) == self.basic
        return False

    def _apply(self, space: str, overwrite: bool, objects: list[dict[str, Any]]) -> dict[str, Any]:
        store = self._saved.setdefault(space, {})
        in_file = {(o.get("type"), o.get("id")) for o in objects}
        errors: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        for item in objects:
            kind, ident = item.get("type"), item.get("id")
            title = (item.get("attributes") or {}).get("title", "")
            base = {"id": ident, "type": kind, "title": title, "meta": {"title": title}}
            if kind not in self.known_types:
                errors.append({**base, "error": {"type": "unsupported_type"}})
                continue
            missing = [{"type": r["type"], "id": r["id"]} for r in item.get("references", [])
                       if (r["type"], r["id"]) not in in_file and (r["type"], r["id"]) not in store]
            if missing:
                errors.append({**base, "error": {"type": "missing_references",
                                                 "references": missing}})
            elif (kind, ident) in store and not overwrite:
                errors.append({**base, "error": {"type": "conflict"}})
            else:
                store[(kind, ident)] = item
                results.append({"id": ident, "type": kind, "meta": {"title": title}})
        answer: dict[str, Any] = {"success": not errors, "successCount": len(results),
                                  "successResults": results, "warnings": []}
        if errors:
            answer["errors"] = errors
        return answer


def _error(status: int, error: str, message: str) -> Reply:
    return Reply.json({"statusCode": status, "error": error, "message": message}, status)


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str, str, bytes]]:
    """``field name → (file name, part content type, bytes)`` of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    parts: dict[str, tuple[str, str, bytes]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        parts[str(name)] = (part.get_filename() or "", part.get_content_type(), payload)
    return parts
