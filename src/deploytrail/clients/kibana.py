"""A thin Kibana client: import saved objects (``POST /api/saved_objects/_import``).

Kibana answers 200 even when some objects were not imported (``success: false``), so the result
carries every object's error; the caller decides what a partial import means.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from deploytrail.errors import ServiceError, ServiceUnavailable

__all__ = ["ImportResult", "KibanaClient", "ObjectError", "auth_headers", "credentials_header"]

SERVICE = "Kibana"


def credentials_header(
    api_key: str | None = None, username: str | None = None, password: str | None = None
) -> dict[str, str]:
    """The ``Authorization`` header for an API key (preferred) or a user; empty for neither."""
    if api_key:
        return {"Authorization": f"ApiKey {api_key}"}
    if username:
        token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}
    return {}


def auth_headers(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Credentials from ``DEPLOYTRAIL_KIBANA_API_KEY``, or ``DEPLOYTRAIL_KIBANA_USERNAME`` and
    ``DEPLOYTRAIL_KIBANA_PASSWORD``, as request headers."""
    env = os.environ if environ is None else environ
    return credentials_header(env.get("DEPLOYTRAIL_KIBANA_API_KEY"),
                              env.get("DEPLOYTRAIL_KIBANA_USERNAME"),
                              env.get("DEPLOYTRAIL_KIBANA_PASSWORD"))


@dataclass(frozen=True)
class ObjectError:
    """One saved object Kibana did not import, and why."""

    type: str
    id: str
    title: str
    reason: str

    def describe(self) -> str:
        name = f"{self.type} {self.id}" + (f" ({self.title!r})" if self.title else "")
        return f"{name}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    success: bool
    success_count: int
    errors: list[ObjectError] = field(default_factory=list)


class KibanaClient:
    """Talks to one Kibana, optionally in one space, with an API key or user and password."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        space: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.space = space or None
        self.timeout = timeout
        self._credentials = credentials_header(api_key, username, password)

    def _url(self, path: str) -> str:
        prefix = f"/s/{quote(self.space, safe='')}" if self.space else ""
        return f"{self.base_url}{prefix}{path}"

    def version(self) -> str:
        """Kibana's version from ``GET /api/status``; proves the URL and credentials work."""
        import requests

        url = self._url("/api/status")
        try:
            response = requests.get(url, headers=self._credentials, timeout=self.timeout)
        except requests.RequestException as error:
            raise ServiceUnavailable(
                SERVICE, f"could not reach Kibana: {type(error).__name__}", method="GET",
                url=url, hint="check --kibana-url and that Kibana is running and reachable",
            ) from None
        if response.status_code != 200:
            raise ServiceError(SERVICE, "the status request failed", method="GET", url=url,
                               status=response.status_code, body=response.text,
                               hint="check --kibana-url and DEPLOYTRAIL_KIBANA_API_KEY")
        try:
            return str(response.json()["version"]["number"])
        except (ValueError, KeyError, TypeError):
            raise ServiceError(SERVICE, "the status answer has no version: is this Kibana?",
                               method="GET", url=url, status=200, body=response.text) from None

    def import_saved_objects(
        self, ndjson: bytes, *, filename: str = "deploytrail.ndjson", overwrite: bool = True
    ) -> ImportResult:
        """Upload an NDJSON export as multipart field ``file``; objects with the same id are
        overwritten when ``overwrite`` (so a re-import never duplicates)."""
        import requests

        if not filename.endswith(".ndjson"):  # Kibana refuses any other file extension
            filename += ".ndjson"
        url = self._url("/api/saved_objects/_import")
        headers = {"kbn-xsrf": "deploytrail", **self._credentials}
        try:
            response = requests.post(
                url,
                params={"overwrite": "true"} if overwrite else None,
                files={"file": (filename, ndjson, "application/ndjson")},
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise ServiceUnavailable(
                SERVICE, f"could not reach Kibana: {type(error).__name__}", method="POST",
                url=url, hint="check --kibana-url and that Kibana is running and reachable",
            ) from None
        if response.status_code in (401, 403):
            raise ServiceError(
                SERVICE, "Kibana refused the credentials", method="POST", url=url,
                status=response.status_code, body=response.text,
                hint="set DEPLOYTRAIL_KIBANA_API_KEY (or DEPLOYTRAIL_KIBANA_USERNAME and "
                     "DEPLOYTRAIL_KIBANA_PASSWORD) for a user allowed to manage saved objects",
            )
        if response.status_code != 200:
            raise ServiceError(
                SERVICE, "the import request failed", method="POST", url=url,
                status=response.status_code, body=response.text,
                hint="check that --kibana-url points at Kibana (not Elasticsearch) and the space "
                     "exists" if response.status_code == 404 else None,
            )
        try:
            body = response.json()
        except ValueError:
            raise ServiceError(SERVICE, "the import answer is not JSON", method="POST", url=url,
                               status=200, body=response.text) from None
        if not isinstance(body, dict) or "success" not in body:
            raise ServiceError(SERVICE, "the import answer has no 'success' field",
                               method="POST", url=url, status=200, body=response.text)
        return ImportResult(
            success=bool(body["success"]),
            success_count=int(body.get("successCount") or 0),
            errors=[_object_error(e) for e in body.get("errors") or [] if isinstance(e, dict)],
        )


def _object_error(data: dict[str, Any]) -> ObjectError:
    error: dict[str, Any] = data["error"] if isinstance(data.get("error"), dict) else {}
    kind = str(error.get("type") or "unknown")
    reason = kind.replace("_", " ")
    if kind == "missing_references":
        missing = [f"{r.get('type')} {r.get('id')}" for r in error.get("references") or []
                   if isinstance(r, dict)]
        if missing:
            reason += ": " + ", ".join(missing)
    elif kind == "unsupported_type":
        reason += " (this Kibana does not know the type; annotation groups need Kibana 8.9+)"
    elif kind == "conflict":
        reason += " (an object with this id exists; import with overwrite)"
    elif error.get("message"):
        reason += f": {error['message']}"
    meta: dict[str, Any] = data["meta"] if isinstance(data.get("meta"), dict) else {}
    title = str(data.get("title") or meta.get("title") or "")
    return ObjectError(str(data.get("type") or "?"), str(data.get("id") or "?"), title, reason)
