"""A tiny WSGI app that serves a service's deployment-info JSON (written by ``info write``).

Mount it at ``/deployment-info`` in any WSGI server (gunicorn, uWSGI, mod_wsgi, waitress)::

    gunicorn 'deploytrail.deployment_info:make_app("/srv/api/deployment-info.json")'
    DEPLOYTRAIL_INFO_FILE=/srv/api/deployment-info.json gunicorn deploytrail.deployment_info

The file is read on every request, so a deploy that rewrites it is visible at once. Only the
standard library is used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["ENV_VAR", "application", "make_app"]

#: Where :data:`application` finds the file.
ENV_VAR = "DEPLOYTRAIL_INFO_FILE"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def make_app(path: str | os.PathLike[str] | None = None) -> WSGIApp:
    """A WSGI app serving the JSON file at ``path`` (else ``$DEPLOYTRAIL_INFO_FILE``)."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _answer(start_response, "405 Method Not Allowed",
                           {"error": "only GET and HEAD"}, method, [("Allow", "GET, HEAD")])
        target = path or os.environ.get(ENV_VAR)
        if not target:
            return _answer(start_response, "500 Internal Server Error",
                           {"error": f"no deployment-info file configured (set {ENV_VAR})"},
                           method)
        try:
            data = json.loads(Path(target).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return _answer(start_response, "503 Service Unavailable",
                           {"error": "no deployment recorded yet"}, method)
        except (OSError, ValueError):
            return _answer(start_response, "500 Internal Server Error",
                           {"error": "the deployment-info file is unreadable"}, method)
        return _answer(start_response, "200 OK", data, method)

    return app


def _answer(start_response: StartResponse, status: str, data: object, method: str,
            extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    start_response(status, [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        *(extra or []),
    ])
    return [] if method == "HEAD" else [body]


#: The app for ``gunicorn deploytrail.deployment_info``: reads ``$DEPLOYTRAIL_INFO_FILE``.
application = make_app()
