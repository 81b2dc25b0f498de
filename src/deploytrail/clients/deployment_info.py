"""Ask a running service what it runs: ``GET https://api/deployment-info`` → its revision.

The answer is JSON such as ``{"revision": "<sha>", "deployed_at": "…", "version": "…"}``;
``sha``, ``commit`` and ``git_sha`` are accepted for ``revision``, or a configured field path
(``build.git.sha``). Anything else (a proxy's HTML error page, a missing field, a value that is
not a 7–40 hex revision) is a clear error quoting what came back and naming the URL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploytrail.errors import ConfigError, ServiceError, ServiceUnavailable
from deploytrail.redact import shorten

__all__ = ["REVISION_FIELDS", "DeploymentInfo", "DeploymentInfoClient", "is_revision"]

#: Field names tried, in order, when no field path is configured.
REVISION_FIELDS = ("revision", "sha", "commit", "git_sha")
_REVISION = re.compile(r"[0-9a-fA-F]{7,40}")
SERVICE = "deployment-info"


def is_revision(value: object) -> bool:
    """True for a 7–40 character hexadecimal commit id."""
    return isinstance(value, str) and _REVISION.fullmatch(value) is not None


@dataclass(frozen=True)
class DeploymentInfo:
    """What a service says it runs."""

    revision: str
    deployed_at: str | None = None
    version: str | None = None
    build_number: str | None = None


class DeploymentInfoClient:
    """Reads one service's deployment-info endpoint."""

    def __init__(
        self,
        url: str,
        *,
        field: str | None = None,
        ca_bundle: str | None = None,
        verify: bool = True,
        auth_header: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ConfigError(
                f"deployment-info URL {url!r} must start with https:// or http://",
                hint="give --previous info:https://HOST/deployment-info",
            )
        if ca_bundle and not Path(ca_bundle).is_file():
            raise ConfigError(f"CA bundle {ca_bundle} does not exist",
                              hint="give the path of a PEM file with the CA certificates")
        self.url = url
        self.field = field
        self.verify: bool | str = ca_bundle or verify
        self.headers = {"Accept": "application/json", "User-Agent": "deploytrail"}
        #: The configured secret header's name: dropped when a redirect leaves the host.
        self.secret_header: str | None = None
        if auth_header:
            name, sep, value = auth_header.partition(":")
            if not sep or not name.strip() or not value.strip():
                raise ConfigError(
                    "the deployment-info auth header must look like 'Name: value'",
                    hint="e.g. 'Authorization: Bearer TOKEN' in DEPLOYTRAIL_INFO_HEADER",
                )
            self.headers[name.strip()] = value.strip()
            self.secret_header = name.strip()
        self.timeout = timeout

    def fetch(self) -> DeploymentInfo:
        """GET the endpoint (following redirects) and return what the service runs."""
        import requests

        secret = self.secret_header

        class Session(requests.Session):
            """requests drops only ``Authorization`` when a redirect changes the host, port or
            scheme; the configured header (``X-Api-Key: …``) is dropped there too."""

            def rebuild_auth(self, prepared: Any, response: Any) -> None:
                old, new = response.request.url, prepared.url
                if secret and self.should_strip_auth(old, new):  # type: ignore[no-untyped-call]
                    prepared.headers.pop(secret, None)
                super().rebuild_auth(prepared, response)  # type: ignore[no-untyped-call]

        try:
            with Session() as session:
                response = session.get(self.url, headers=self.headers, timeout=self.timeout,
                                       verify=self.verify, allow_redirects=True)
        except requests.exceptions.SSLError as exc:
            raise ServiceUnavailable(
                SERVICE, f"TLS verification failed: {shorten(str(exc), 200)}",
                method="GET", url=self.url,
                hint="give the CA bundle that signed the service's certificate "
                "(--info-ca-bundle / DEPLOYTRAIL_INFO_CA_BUNDLE)",
            ) from None
        except requests.exceptions.Timeout:
            raise ServiceUnavailable(
                SERVICE, f"no answer within {self.timeout:g} s", method="GET", url=self.url,
                hint="check that the service is up, or use --previous ledger / sha:REV",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise ServiceUnavailable(
                SERVICE, f"cannot reach the service ({type(exc).__name__})",
                method="GET", url=self.url,
                hint="check the URL and that the service is up, or use --previous ledger",
            ) from None
        return self._parse(response.status_code, response.text, response.url)

    def _parse(self, status: int, body: str, final_url: str) -> DeploymentInfo:
        def fail(message: str, hint: str | None = None) -> ServiceError:
            return ServiceError(SERVICE, message, method="GET", url=final_url or self.url,
                                status=status, body=body or "(empty body)", hint=hint)

        if status >= 400:
            raise fail(f"the endpoint answered HTTP {status}",
                       hint="check the URL; the service must serve its deployment-info JSON")
        try:
            data = json.loads(body)
        except ValueError:
            raise fail("the answer is not JSON (an error page from a proxy?)",
                       hint="the endpoint must answer {\"revision\": \"<sha>\", …}") from None
        if not isinstance(data, dict):
            raise fail("the answer is JSON but not an object",
                       hint="the endpoint must answer {\"revision\": \"<sha>\", …}")
        names = (self.field,) if self.field else REVISION_FIELDS
        found = [(n, v) for n in names if (v := _lookup(data, n)) is not None]
        if not found:
            raise fail(
                f"no revision field ({', '.join(names)}) in the answer",
                hint="serve the revision under 'revision', or name the field with --info-field",
            )
        name, value = found[0]
        if not is_revision(value):
            raise fail(f"field {name!r} is {shorten(repr(value), 80)}, not a 7-40 hex commit id",
                       hint="the service must report the git sha it was built from")
        return DeploymentInfo(
            revision=str(value).lower(),
            deployed_at=_text(data.get("deployed_at") or data.get("time")),
            version=_text(data.get("version")),
            build_number=_text(data.get("build_number")),
        )


def _lookup(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _text(value: object) -> str | None:
    return None if value is None else str(value)
