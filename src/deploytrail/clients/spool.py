"""A durable local spool per events sink: what a sink did not take waits here, in order.

Files, in ``state_dir()/spool/`` (one set per sink, named by a hash of its password-less URL)::

    <hash>.jsonl   the waiting events, one JSON line each, oldest first
    <hash>.sink    the sink's URL without its password (what ``events status`` shows)
    <hash>.lock    taken (flock) for every delivery, so concurrent processes take turns

A delivery sends the waiting events first, then the new ones, in chunks; whatever was not sent
when the sink failed is written back (temp file + rename), still in order, so nothing is lost.
Lines are kept byte for byte: a re-sent event keeps its ``event.id`` and ``@timestamp``. If a
process dies between a successful send and the rewrite, those events go again (at least once);
``event.id`` as the Elasticsearch document id makes that harmless.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from deploytrail.clients.sinks import open_sink, public_url
from deploytrail.errors import ServiceError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytrail.clients.sinks import Sink

__all__ = ["CHUNK", "Delivery", "Spool", "deliver", "spools"]

#: Events per send (one MULTI/EXEC for Redis): a failure leaves at most this many ambiguous.
CHUNK = 1000


@dataclass(frozen=True)
class Delivery:
    """What one delivery did: events sent, events still waiting, and the sink's error if any."""

    url: str
    sent: int
    waiting: int
    error: ServiceError | None = None


class Spool:
    """The waiting events of one sink."""

    def __init__(self, url: str, directory: Path | None = None) -> None:
        self.url = public_url(url)
        if directory is None:
            from deploytrail.paths import state_dir

            directory = state_dir() / "spool"
        self.directory = directory
        name = hashlib.sha256(self.url.encode("utf-8")).hexdigest()[:20]
        self.path = directory / f"{name}.jsonl"
        self.sink_file = directory / f"{name}.sink"
        self.lock_file = directory / f"{name}.lock"

    def waiting(self) -> list[str]:
        """The waiting event lines, oldest first (a torn last line is not counted)."""
        return self._read()[0]

    def _read(self) -> tuple[list[str], bool]:
        """The complete lines, and whether the file ends cleanly (a crash can tear the end)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], True
        lines = text.split("\n")
        # the last element is "" after a complete line; anything else was torn by a crash
        return [line for line in lines[:-1] if line.strip()], lines[-1] == ""

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "a+b") as handle:
            if sys.platform == "win32":  # pragma: no cover - Windows agents
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                try:
                    yield
                finally:
                    handle.seek(0)
                    msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _append(self, lines: Sequence[str]) -> None:
        if not self.sink_file.exists():
            self.sink_file.write_text(self.url + "\n", encoding="utf-8")
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
            handle.flush()
            os.fsync(handle.fileno())

    def _replace(self, lines: Sequence[str]) -> None:
        if not lines:
            self.path.unlink(missing_ok=True)
            self.sink_file.unlink(missing_ok=True)
            return
        if not self.sink_file.exists():
            self.sink_file.write_text(self.url + "\n", encoding="utf-8")
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


def deliver(url: str, lines: Sequence[str] = (), *, password: str | None = None,
            chunk: int = CHUNK, directory: Path | None = None) -> Delivery:
    """Send the spooled events of ``url`` and then ``lines``, in order; spool the rest.

    Never raises for a sink failure (the error is in the returned :class:`Delivery`); a
    malformed URL raises :class:`~deploytrail.errors.ConfigError` before anything is sent.
    """
    sink = open_sink(url, password=password)
    spool = Spool(url, directory)
    with spool.locked():
        spooled, clean = spool._read()
        queue = [*spooled, *lines]
        sent = 0
        error: ServiceError | None = None
        try:
            for start in range(0, len(queue), chunk):
                part = queue[start:start + chunk]
                sink.send(part)
                sent += len(part)
        except ServiceError as exc:
            error = exc
        except Exception as exc:  # a library surprise must not lose the events either
            error = ServiceError(f"events sink {spool.url}",
                                 f"failed unexpectedly: {type(exc).__name__}: {exc}")
        finally:  # also on Ctrl-C: what was not sent is on disk before the interrupt goes on
            _close(sink)
            if sent == 0 and lines and clean:
                spool._append(lines)  # the cheap common failure: nothing went, add the new ones
            elif sent or not clean:
                spool._replace(queue[sent:])
    return Delivery(spool.url, sent, len(queue) - sent, error)


def _close(sink: Sink) -> None:
    # closing a broken connection may fail too; what was sent is already known
    with suppress(Exception):
        sink.close()


def spools(directory: Path | None = None) -> list[tuple[str, int]]:
    """Every sink with events waiting: ``(URL without password, count)``, sorted by URL."""
    if directory is None:
        from deploytrail.paths import state_dir

        directory = state_dir() / "spool"
    found = []
    for sink_file in sorted(directory.glob("*.sink")) if directory.is_dir() else []:
        try:
            url = sink_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:  # emptied by a delivery in another process just now
            continue
        count = len(Spool(url, directory).waiting())
        if count:
            found.append((url, count))
    return sorted(found)
