"""Real local sockets standing in for Logstash's ``tcp`` (json_lines) and ``udp`` (json) inputs."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from typing import Any

from fakes.net import free_port

__all__ = ["LogstashTCP", "LogstashUDP"]


class _Base:
    def __init__(self) -> None:
        self.payloads: list[bytes] = []  # each TCP line / UDP datagram, as received
        self._lock = threading.Lock()
        self._server: socketserver.BaseServer | None = None

    def _keep(self, payload: bytes) -> None:
        with self._lock:
            self.payloads.append(payload)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])  # type: ignore[index]

    def documents(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait for ``count`` payloads and decode each as one JSON document."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.payloads) >= count:
                    return [json.loads(p) for p in self.payloads]
            time.sleep(0.01)
        raise AssertionError(f"expected {count} payloads, got {len(self.payloads)}")

    def __enter__(self) -> Any:
        assert self._server is not None
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


class LogstashTCP(_Base):
    """Reads newline-delimited JSON from each connection (Logstash ``codec => json_lines``)."""

    def __init__(self, port: int = 0) -> None:
        super().__init__()
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for line in self.rfile:
                    fake._keep(line.rstrip(b"\n"))

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True


class LogstashUDP(_Base):
    """Keeps each datagram (Logstash ``udp`` input, ``codec => json``)."""

    def __init__(self) -> None:
        super().__init__()
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                fake._keep(self.request[0])

        self._server = socketserver.UDPServer(("127.0.0.1", 0), Handler)


#: A port nothing listens on (bound, then released).
closed_port = free_port
