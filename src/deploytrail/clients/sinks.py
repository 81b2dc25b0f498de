"""Where deploy events go, chosen by URL: a Redis list, Logstash over TCP/UDP, or a file.

=====================================  =====================================================
``file:PATH``                          JSON lines appended to PATH (the embedded default is
                                       ``file:`` + the state dir's ``events.jsonl``)
``redis://[:PASSWORD@]HOST:PORT/DB``   ``RPUSH`` to a list, then ``LTRIM key -N -1`` in the
``?key=NAME&max=N``                    same MULTI/EXEC; key ``deploytrail``, N 100000 by default
``rediss://…``                         the same over TLS (``&ca=PATH`` for a private CA)
``logstash+tcp://HOST:PORT``           python-logstash's TCP handler, one JSON line per event
``logstash+udp://HOST:PORT``           python-logstash's UDP handler, one datagram per event
=====================================  =====================================================

Every sink sends the same ECS document (:mod:`deploytrail.events`), already serialized as one
JSON line, and raises :class:`ServiceError` when it could not: the spool keeps what was not sent.
Timeouts are short and nothing is retried here (``RPUSH`` is not idempotent; the spool retries).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from deploytrail.errors import ConfigError, ServiceError, ServiceUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Iterator, Sequence
    from typing import Any, NoReturn, Protocol

    class Sink(Protocol):
        """Sends event lines, in order; raises ServiceError if any of them may not have gone."""

        url: str  # the sink's URL without its password

        def send(self, lines: Sequence[str]) -> None: ...

        def check(self) -> str: ...

        def close(self) -> None: ...

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_MAX",
    "SUPPORTED",
    "default_events_url",
    "open_sink",
    "public_url",
]

DEFAULT_KEY = "deploytrail"
DEFAULT_MAX = 100_000
TIMEOUT = 2.0
SUPPORTED = (
    "file:PATH, redis://HOST:PORT/DB?key=NAME&max=N, rediss://HOST:PORT/DB?key=NAME, "
    "logstash+tcp://HOST:PORT, logstash+udp://HOST:PORT"
)


def default_events_url() -> str:
    """The embedded default sink: JSON lines in the state directory."""
    from deploytrail.paths import state_dir

    return "file:" + str(state_dir() / "events.jsonl")


def public_url(url: str) -> str:
    """``url`` without a password (the user name stays): safe to show, store and hash."""
    parts = urlsplit(url)
    if parts.password is None or "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}@{hostport}" if user else hostport
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def open_sink(url: str, *, password: str | None = None, timeout: float = TIMEOUT) -> Sink:
    """The sink for ``url``; nothing is connected until the first ``send``.

    ``password`` is used for Redis when the URL carries none. A malformed URL is a
    :class:`ConfigError` naming the supported forms.
    """
    if url.startswith("file:"):
        return FileSink(_file_path(url))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("redis", "rediss"):
        return _redis_sink(url, password, timeout)
    if scheme in ("logstash+tcp", "logstash+udp"):
        host, port = _host_port(url)
        if parts.path not in ("", "/") or parts.query:
            _bad(url, "a Logstash URL is only HOST:PORT")
        return LogstashSink(public_url(url), host, port, udp=scheme.endswith("udp"),
                            timeout=timeout)
    _bad(url, "unknown scheme")


def _bad(url: str, problem: str, hint: str | None = None) -> NoReturn:
    raise ConfigError(f"events sink {_shown(url)!r}: {problem}",
                      hint=hint or f"supported sinks: {SUPPORTED}")


_QUERY_SECRET = re.compile(r"(?P<key>[?&](?:password|passwd|pass|pw|token|secret)=)[^&#]*",
                           re.IGNORECASE)


def _shown(url: str) -> str:
    """``url`` safe for an error message: no password in the user part nor in the query."""
    return _QUERY_SECRET.sub(lambda m: f"{m['key']}***", public_url(url))


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
        _bad(url, "the port is not a number")
    if not parts.hostname or port is None:
        _bad(url, "HOST and PORT are both needed")
    return str(parts.hostname), int(port)


def _file_path(url: str) -> Path:
    rest = url[len("file:"):]
    if rest.startswith("//"):
        rest = unquote(urlsplit(url).path)
    if not rest:
        return Path(default_events_url()[len("file:"):])
    return Path(rest).expanduser()


# --- file -------------------------------------------------------------------------------

class FileSink:
    """JSON lines appended to a local file (created with its folders)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"file:{path}"

    def send(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
        except OSError as exc:
            raise ServiceError("events file", f"could not append to {self.path}: {exc.strerror}",
                               hint="check the path and its permissions") from None

    def check(self) -> str:
        """``deploytrail doctor``: the file can be appended to (nothing is written)."""
        import os

        folder = self.path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        target = self.path if self.path.exists() else folder
        if not os.access(target, os.W_OK):
            raise ServiceError("events file", f"{target} is not writable",
                               hint="check the path and its permissions")
        return f"{self.path} writable"

    def close(self) -> None:
        pass


# --- redis ------------------------------------------------------------------------------

@dataclass
class _RedisTarget:
    host: str
    port: int
    db: int
    key: str
    max_len: int
    username: str | None
    password: str | None
    tls: bool
    ca: str | None


def _redis_sink(url: str, password: str | None, timeout: float) -> RedisSink:
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port or 6379
    except ValueError:
        _bad(url, "the port is not a number")
    if not host:
        _bad(url, "no HOST (redis://HOST:PORT/DB?key=NAME)")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        _bad(url, f"the database {path!r} is not a number (redis://HOST:PORT/0)")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - {"key", "max", "ca"})
    if unknown:
        _bad(url, f"unknown option(s) {', '.join(unknown)} (known: key, max, ca)",
             hint="a password goes in redis://:PASSWORD@HOST:PORT/DB or, better, in "
                  "DEPLOYTRAIL_REDIS_PASSWORD" if _QUERY_SECRET.search(url) else None)
    max_text = query.get("max", str(DEFAULT_MAX))
    if not max_text.isdigit() or int(max_text) < 1:
        _bad(url, f"max={max_text!r} must be a whole number of events, at least 1")
    target = _RedisTarget(
        host=str(host), port=int(port), db=int(path or 0), key=query.get("key") or DEFAULT_KEY,
        max_len=int(max_text), username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else password,
        tls=parts.scheme.lower() == "rediss", ca=query.get("ca"),
    )
    return RedisSink(public_url(url), target, timeout)


class RedisSink:
    """``RPUSH`` the lines and ``LTRIM key -N -1`` in one MULTI/EXEC: the newest N stay."""

    def __init__(self, url: str, target: _RedisTarget, timeout: float) -> None:
        self.url = url
        self.target = target
        self.timeout = timeout
        self._client: Any = None

    def _connect(self) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        t = self.target
        options: dict[str, Any] = {}
        if t.tls:
            options.update(ssl=True, ssl_ca_certs=t.ca)
        return redis.Redis(
            host=t.host, port=t.port, db=t.db, username=t.username, password=t.password,
            socket_timeout=self.timeout, socket_connect_timeout=self.timeout,
            retry=Retry(NoBackoff(), 0), **options,
        )

    def send(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        with self._talking(), self._client.pipeline(transaction=True) as pipe:
            pipe.rpush(self.target.key, *lines)
            pipe.ltrim(self.target.key, -self.target.max_len, -1)
            pipe.execute()

    def check(self) -> str:
        """``deploytrail doctor``: reachable, password accepted, and a write goes through."""
        import uuid

        probe = f"{self.target.key}:doctor:{uuid.uuid4().hex}"
        with self._talking():
            self._client.set(probe, "1", ex=10)
            self._client.delete(probe)
            length = self._client.llen(self.target.key)
        return f"reachable and writable; list {self.target.key!r} holds {length} event(s)"

    @contextmanager
    def _talking(self) -> Iterator[None]:
        """Connect on first use; turn redis-py's errors into deploytrail's."""
        import redis

        if self._client is None:
            self._client = self._connect()
        where = f"Redis {self.url}"
        try:
            yield
        except redis.AuthenticationError:
            raise ServiceError(where, "the password was refused",
                               hint="check DEPLOYTRAIL_REDIS_PASSWORD or the URL") from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise ServiceUnavailable(where, f"could not be reached: {_first_line(exc)}",
                                     hint="is Redis up and reachable from here?") from None
        except redis.RedisError as exc:
            raise ServiceError(where, f"refused the events: {_first_line(exc)}",
                               hint=_redis_hint(str(exc))) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _first_line(exc: BaseException) -> str:
    """The server's words, without redis-py's pipeline preamble (which quotes the events)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first.split("caused error: ", 1)[-1]


def _redis_hint(text: str) -> str | None:
    if "OOM" in text or "maxmemory" in text:
        return ("Redis is out of memory: is Logstash consuming the list? "
                "lower max= or raise maxmemory")
    if "NOAUTH" in text or "WRONGPASS" in text:
        return "give the password with --redis-password or DEPLOYTRAIL_REDIS_PASSWORD"
    if "WRONGTYPE" in text:
        return "the key holds something other than a list: choose another key= in the URL"
    return None


# --- logstash ---------------------------------------------------------------------------

def _log_record(line: str) -> logging.LogRecord:
    import logging

    record = logging.LogRecord("deploytrail.events", logging.INFO, __file__, 0, "%s", (), None)
    record.ecs_line = line
    return record


class LogstashSink:
    """python-logstash's TCP or UDP handler, made strict: the library swallows socket errors
    (its handlers inherit ``SocketHandler.handleError``), which would lose events silently."""

    def __init__(self, url: str, host: str, port: int, *, udp: bool, timeout: float) -> None:
        self.url = url
        self._handler = _strict_handler(host, port, udp=udp, timeout=timeout)

    def send(self, lines: Sequence[str]) -> None:
        try:
            for line in lines:
                self._handler.emit(_log_record(line))
        except OSError as exc:
            self._handler.close()
            raise ServiceUnavailable(f"Logstash {self.url}",
                                     f"could not send: {exc.strerror or type(exc).__name__}",
                                     hint="is the Logstash tcp/udp input listening?") from None

    def check(self) -> str:
        """``deploytrail doctor``: the TCP port accepts a connection (UDP cannot tell)."""
        import socket

        host, port = self._handler.host, self._handler.port
        if self.url.startswith("logstash+udp"):
            socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            return "host resolves (UDP cannot confirm that Logstash listens)"
        try:
            with socket.create_connection((host, port), timeout=3):
                return "port open"
        except OSError as exc:
            raise ServiceUnavailable(f"Logstash {self.url}",
                                     f"port closed: {exc.strerror or type(exc).__name__}",
                                     hint="is the Logstash tcp input listening?") from None

    def close(self) -> None:
        self._handler.close()


def _strict_handler(host: str, port: int, *, udp: bool, timeout: float) -> Any:
    import logging

    from logstash import TCPLogstashHandler, UDPLogstashHandler

    class EcsFormatter(logging.Formatter):
        """The record's ECS JSON document as bytes (as python-logstash's formatters return),
        instead of the library's V0/V1 layout whose ``host`` string clashes with ECS."""

        def format(self, record: logging.LogRecord) -> bytes:  # type: ignore[override]
            return str(record.__dict__["ecs_line"]).encode("utf-8")

    class StrictTCP(TCPLogstashHandler):  # type: ignore[misc]
        sock: Any

        def emit(self, record: logging.LogRecord) -> None:
            data = self.makePickle(record)
            if self.sock is None:
                self.sock = self.makeSocket(timeout=timeout)
            self.sock.sendall(data)

    class StrictUDP(UDPLogstashHandler):  # type: ignore[misc]
        sock: Any

        def makePickle(self, record: logging.LogRecord) -> bytes:  # noqa: N802 (library name)
            return bytes(self.formatter.format(record)) + b"\n"

        def emit(self, record: logging.LogRecord) -> None:
            data = self.makePickle(record)
            if self.sock is None:
                self.sock = self.makeSocket()
            self.sock.sendto(data, (self.host, self.port))

    handler = (StrictUDP if udp else StrictTCP)(host, port, version=1)
    handler.setFormatter(EcsFormatter())
    return handler
