"""A small base for fake HTTP APIs: a real ThreadingHTTPServer on port 0 with a route table.

    api = FakeAPI()
    api.route("GET", r"/app/rest/builds/(?P<locator>[^/]+)", lambda req: Reply.json({...}))
    with api:
        ...  # point the real client at api.url
    assert api.requests[0].path == "/app/rest/builds/id:1"

A handler gets a :class:`Request` and returns a :class:`Reply`. ``api.fail_next(n, status)``
makes the next n requests answer with an error first; ``api.drop_next(n)`` closes the connection
after the handler ran (the server did the work, the client never hears of it);
``api.cut_next(n)`` sends the status and half the body, then closes (an answer cut short).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeAPI", "Reply", "Request"]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.path

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(data).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> Reply:
        return cls(status, text.encode(), {"Content-Type": content_type})


Handler = Callable[[Request], Reply]


class FakeAPI:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Request] = []
        self._failures: list[int] = []
        self._drops = 0
        self._cuts = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- set-up -------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer ``method`` on paths fully matching ``pattern`` (named groups → params)."""
        self.routes.append((method.upper(), re.compile(pattern), handler))

    def fail_next(self, count: int, status: int = 503, body: str = "Service Unavailable") -> None:
        with self._lock:
            self._failures.extend([status] * count)
            self._failure_body = body

    def drop_next(self, count: int = 1) -> None:
        with self._lock:
            self._drops += count

    def cut_next(self, count: int = 1) -> None:
        with self._lock:
            self._cuts += count

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> FakeAPI:
        api = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                api._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- serving ------------------------------------------------------------------------
    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        split = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        request = Request(
            method=http.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=dict(http.headers.items()),
            body=body,
        )
        with self._lock:
            self.requests.append(request)
            failure = self._failures.pop(0) if self._failures else None
            drop = cut = False
            if failure is None and self._drops:
                self._drops -= 1
                drop = True
            elif failure is None and self._cuts:
                self._cuts -= 1
                cut = True
        if failure is not None:
            reply = Reply.text(getattr(self, "_failure_body", "error"), failure)
        else:
            reply = self._dispatch(request)
        if drop:
            http.close_connection = True
            http.connection.close()
            return
        http.send_response(reply.status)
        for key, value in reply.headers.items():
            http.send_header(key, value)
        http.send_header("Content-Length", str(len(reply.body)))
        http.end_headers()
        if cut:
            http.wfile.write(reply.body[: len(reply.body) // 2])
            http.wfile.flush()
            http.close_connection = True
            http.connection.close()
            return
        if http.command != "HEAD":
            http.wfile.write(reply.body)

    def _dispatch(self, request: Request) -> Reply:
        allowed = False
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            allowed = True
            if method == request.method:
                request.params = {k: v for k, v in match.groupdict().items() if v is not None}
                try:
                    return handler(request)
                except Exception as exc:  # a bug in a fake must be visible, not a hang
                    return Reply.text(f"fake handler crashed: {exc!r}", 599)
        if allowed:
            return Reply.text("Method Not Allowed", 405)
        return Reply.text(f"no route for {request.method} {request.path}", 404)

    def received(self, method: str | None = None, path_re: str | None = None) -> list[Request]:
        """The requests received so far, optionally filtered."""
        with self._lock:
            found = list(self.requests)
        if method:
            found = [r for r in found if r.method == method.upper()]
        if path_re:
            found = [r for r in found if re.search(path_re, r.path)]
        return found
