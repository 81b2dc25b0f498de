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
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from deploytrail.clients.sinks import open_sink, public_url
from deploytrail.errors import ConfigError, ServiceError
from deploytrail.locking import exclusive

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
    #: Why the local spool could not be used (the events above say what that cost), if so.
    spool_problem: str | None = None


class Spool:
    """The waiting events of one sink."""

    def __init__(self, url: str, directory: Path | None = None) -> None:
        self.url = public_url(url)
        self.directory = directory = _folder(directory)
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
        """Held for every delivery, so concurrent processes take turns on this spool."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with exclusive(self.lock_file):
            yield

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

    Never raises for a sink failure (the error is in the returned :class:`Delivery`), nor for
    an unusable spool (its problem is in ``Delivery.spool_problem``; the new lines still go to
    the sink). A malformed URL raises :class:`~deploytrail.errors.ConfigError` before anything
    is sent.
    """
    sink = open_sink(url, password=password)
    with ExitStack() as held:
        try:
            spool = Spool(url, directory)
            held.enter_context(spool.locked())
            spooled, clean = spool._read()
        except OSError as exc:  # read-only, not a folder: send without a spool
            return _without_spool(sink, public_url(url), lines, _spool_problem(exc))
        except ConfigError as exc:  # no usable state directory at all
            return _without_spool(sink, public_url(url), lines,
                                  f"the local spool is unusable: {exc.message}")
        queue = [*spooled, *lines]
        sent = 0
        error: ServiceError | None = None
        unsaved: OSError | None = None
        try:
            for start in range(0, len(queue), chunk):
                part = queue[start:start + chunk]
                sink.send(part)
                sent += len(part)
        except ServiceError as exc:
            error = exc
        except Exception as exc:  # a library surprise must not lose the events either
            error = _surprise(spool.url, exc)
        finally:  # also on Ctrl-C: what was not sent is on disk before the interrupt goes on
            _close(sink)
            unsaved = _write_back(spool, queue, sent, lines, clean)
    waiting = len(queue) - sent
    if unsaved is None:
        return Delivery(spool.url, sent, waiting, error)
    problem = _spool_problem(unsaved)
    if error is None:  # all sent; the old spool may go again (event.id keeps it harmless)
        return Delivery(spool.url, sent, 0, None, problem)
    lost = min(len(lines), waiting)  # the old spool file still holds every earlier event
    return Delivery(spool.url, sent, len(spooled),
                    ServiceError(error.service, f"{error.message}; {lost} new event(s) lost, "
                                 f"not spooled: {problem}", hint=SPOOL_HINT), problem)


SPOOL_HINT = "make the state directory writable, or point DEPLOYTRAIL_HOME at a folder that is"


def _surprise(url: str, exc: Exception) -> ServiceError:
    return ServiceError(f"events sink {url}", f"failed unexpectedly: {type(exc).__name__}: {exc}")


def _spool_problem(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"the local spool is unusable: {exc.strerror or type(exc).__name__}{where}"


def _write_back(spool: Spool, queue: Sequence[str], sent: int, lines: Sequence[str],
                clean: bool) -> OSError | None:
    """Keep what was not sent (``queue[sent:]``) on disk; the OSError if that failed."""
    try:
        if sent == 0 and lines and clean:
            spool._append(lines)  # the cheap common failure: nothing went, add the new ones
        elif sent or not clean:
            spool._replace(queue[sent:])
    except OSError as exc:
        return exc
    return None


def _without_spool(sink: Sink, url: str, lines: Sequence[str], problem: str) -> Delivery:
    """The spool cannot be used: send ``lines`` straight away, or report them lost."""
    try:
        if lines:
            sink.send(lines)
    except Exception as exc:
        failed = exc if isinstance(exc, ServiceError) else _surprise(url, exc)
        lost = ServiceError(failed.service, f"{failed.message}; {len(lines)} new event(s) lost, "
                            f"not spooled: {problem}", hint=SPOOL_HINT)
        return Delivery(url, 0, 0, lost, problem)
    finally:
        _close(sink)
    return Delivery(url, len(lines), 0, None, problem)


def _folder(directory: Path | None) -> Path:
    """``directory``, by default the state dir's ``spool`` (OSError if that is unusable)."""
    if directory is not None:
        return directory
    from deploytrail.paths import state_dir

    return state_dir() / "spool"


def _close(sink: Sink) -> None:
    # closing a broken connection may fail too; what was sent is already known
    with suppress(Exception):
        sink.close()


def spools(directory: Path | None = None) -> list[tuple[str, int]]:
    """Every sink with events waiting: ``(URL without password, count)``, sorted by URL.

    An unusable state directory is a :class:`~deploytrail.errors.ConfigError` naming it.
    """
    try:
        directory = _folder(directory)
    except OSError as exc:
        raise ConfigError(_spool_problem(exc), hint=SPOOL_HINT) from None
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
