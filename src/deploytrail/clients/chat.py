"""Chat rooms through Apprise: one message to many targets, each target's outcome reported.

A target is an Apprise URL (``slack://…``, ``mmost://…``, ``workflows://…``, ``gchat://…``,
``discord://…``, ``matrixs://…``, ``json://…``) or ``console``, which prints. Each target is
sent Markdown when its Apprise plugin renders Markdown, plain text otherwise. Webhook tokens
live inside these URLs, so a target is only ever shown through :attr:`Target.shown` (Apprise's
own privacy form, query dropped) and every reason Apprise gives is scrubbed of the URL's
secret parts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from deploytrail.errors import ConfigError
from deploytrail.redact import mask_url, shorten

__all__ = [
    "CONSOLE",
    "ChatClient",
    "ChatMessage",
    "Delivery",
    "Kind",
    "Target",
    "chat_url_problem",
    "mask_chat_url",
]

CONSOLE = "console"

#: Apprise's notify types: the colour and icon of the message on most services.
Kind = Literal["info", "success", "warning", "failure"]

_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>.*)$", re.S)
_HOSTLIKE = re.compile(r"^[A-Za-z0-9.\-]+\.[A-Za-z0-9.\-]+(?::\d+)?$|^localhost(?::\d+)?$")
_PIECES = re.compile(r"[/:@?&=#,+]")


@dataclass(frozen=True)
class ChatMessage:
    """One notification, rendered for both kinds of target."""

    title: str
    markdown: str
    text: str
    kind: Kind = "info"


@dataclass(frozen=True)
class Target:
    """One place a message goes. ``url`` holds secrets: show ``shown``."""

    url: str
    shown: str
    markdown: bool
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """What happened at one target; ``reason`` says why it failed (secrets removed)."""

    target: str
    ok: bool
    markdown: bool
    reason: str | None = None


def mask_chat_url(url: str) -> str:
    """A chat URL fit to print when Apprise cannot parse it: scheme and host kept, rest masked."""
    match = _SCHEME.match(url.strip())
    if match is None:
        return "***" if len(url) > 12 else mask_url(url)
    rest = match["rest"].split("?", 1)[0].split("#", 1)[0]
    parts = rest.split("/")
    host = parts[0].rsplit("@", 1)[-1]
    shown = [host if _HOSTLIKE.match(host) else ("***" if host else "")]
    shown += ["***" for part in parts[1:] if part]
    return f"{match['scheme']}://" + "/".join(shown)


def chat_url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable chat target (a sentence, secrets masked), or None if it is."""
    try:
        _target(url, 0)
    except ConfigError as error:
        return error.message
    return None


def _target(url: str, index: int, timeout: float = 8.0) -> tuple[Target, Any]:
    """Parse one URL: the target and its Apprise plugin (None for the console)."""
    url = url.strip()
    if url == CONSOLE:
        return Target(CONSOLE, CONSOLE, markdown=False), None
    import apprise
    from apprise.manager_plugins import NotificationManager

    match = _SCHEME.match(url)
    shown = mask_chat_url(url)
    if match is None:
        raise ConfigError(
            f"chat target {shown!r} is not a URL",
            hint="give an Apprise URL such as slack://A/B/C, mmosts://HOST/TOKEN, "
            "workflows://HOST/WORKFLOW/SIGNATURE, or 'console' (see docs/notify.md)",
        )
    scheme = match["scheme"].lower()
    if scheme not in ("http", "https") and scheme not in NotificationManager():  # type: ignore[no-untyped-call]
        raise ConfigError(
            f"chat URL {shown!r}: Apprise has no service called {scheme!r}",
            hint="check the scheme; supported ones are listed at "
            "https://github.com/caronc/apprise/wiki (msteams:// is now workflows://)",
        )
    plugin = apprise.Apprise.instantiate(url, tag=f"deploytrail-{index}")
    if plugin is None:
        raise ConfigError(
            f"chat URL {shown!r} is not a valid {scheme}:// URL (a part is missing or malformed)",
            hint="compare it with the form in docs/notify.md; copy the webhook again from the "
            "chat service",
        )
    # Short timeouts: a chat service that hangs must not hold up a deployment.
    plugin.socket_connect_timeout = min(4.0, timeout)
    plugin.socket_read_timeout = timeout
    privacy = str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]
    shown = mask_url(privacy.split("?", 1)[0].rstrip("/"))
    wants = plugin.resolve_format(apprise.NotifyFormat.MARKDOWN)
    markdown = wants == apprise.NotifyFormat.MARKDOWN
    return Target(url, shown, markdown, _secret_pieces(url, privacy)), plugin


def _secret_pieces(url: str, privacy: str) -> tuple[str, ...]:
    """Parts of ``url`` that Apprise hides in its privacy form: tokens, passwords, keys."""
    rest = url.split("://", 1)[-1]
    pieces = {unquote(p) for p in _PIECES.split(rest)} | set(_PIECES.split(rest))
    hidden = [p for p in pieces if len(p) >= 6 and p not in privacy]
    return tuple(sorted(hidden, key=len, reverse=True))


class ChatClient:
    """Sends one :class:`ChatMessage` to every target; never raises for a delivery failure.

    Every URL is checked when the client is made: a malformed one is a :class:`ConfigError`
    naming it (masked). ``console`` lines go to ``console`` (default: standard output).
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 8.0,
        console: Callable[[str], None] | None = None,
    ) -> None:
        self.timeout = timeout
        self._console = console or _print
        self._plugins: dict[int, Any] = {}
        self.targets: list[Target] = []
        problems: list[str] = []
        seen: set[str] = set()
        for url in urls:
            if not url.strip() or url.strip() in seen:
                continue
            seen.add(url.strip())
            try:
                target, plugin = _target(url, len(self.targets), timeout)
            except ConfigError as error:
                problems.append(error.message)
                continue
            if plugin is not None:
                self._plugins[len(self.targets)] = plugin
            self.targets.append(target)
        if problems:
            raise ConfigError(
                "; ".join(problems),
                hint="fix or remove the chat URL(s); the forms are in docs/notify.md",
            )

    def send(self, message: ChatMessage) -> list[Delivery]:
        """Deliver ``message`` to every target; one :class:`Delivery` per target, in order."""
        outcome: dict[int, Delivery] = {}
        for index, target in enumerate(self.targets):
            if target.url == CONSOLE:
                self._console(f"{message.title}\n{message.text}".rstrip("\n"))
                outcome[index] = Delivery(target.shown, True, False)
        for markdown in (True, False):
            group = [i for i in self._plugins if self.targets[i].markdown is markdown]
            if group:
                outcome.update(self._notify(group, message, markdown))
        return [outcome[i] for i in range(len(self.targets))]

    def _notify(
        self, group: list[int], message: ChatMessage, markdown: bool
    ) -> dict[int, Delivery]:
        import apprise

        hub = apprise.Apprise(asset=_asset(self.timeout))
        for index in group:
            hub.add(self._plugins[index])
        try:
            result = hub.notify(
                body=message.markdown if markdown else message.text,
                title=message.title,
                notify_type=message.kind,
                body_format=apprise.NotifyFormat.MARKDOWN if markdown
                else apprise.NotifyFormat.TEXT,
                timeout=self.timeout * 2 + 2,
            )
        except Exception as exc:  # Apprise reports per service; anything else is a bug there
            return {i: self._failed(i, f"Apprise failed: {exc}") for i in group}
        found: dict[int, Delivery] = {}
        for service in result:
            position = _index(service.tag)
            if position is None or position not in group:
                continue
            if service:
                found[position] = Delivery(self.targets[position].shown, True, markdown)
            else:
                found[position] = self._failed(position, _reason(service, self.timeout))
        general = " ".join(entry.message for entry in result.call_logs()) or result.status.name
        for index in group:
            found.setdefault(index, self._failed(index, f"not sent: {general}"))
        return found

    def _failed(self, index: int, reason: str) -> Delivery:
        target = self.targets[index]
        for secret in target.secrets:
            reason = reason.replace(secret, "***")
        return Delivery(target.shown, False, target.markdown, shorten(mask_url(reason), 240))


def _asset(timeout: float) -> Any:
    import apprise

    return apprise.AppriseAsset(
        app_id="deploytrail",
        app_desc="deploytrail deployment notifications",
        app_url="https://github.com/deploytrail/deploytrail",
        storage_mode="memory",
        allow_templates=False,
        service_timeout=timeout * 2 + 1,
    )


def _index(tags: Sequence[str]) -> int | None:
    for tag in tags:
        name = str(tag)
        if name.startswith("deploytrail-") and name[12:].isdigit():
            return int(name[12:])
    return None


def _reason(service: Any, timeout: float) -> str:
    """The last thing Apprise said about a failed service, else its status."""
    said = [e.message for e in service.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
    if said:
        return str(said[-1])
    if service.status.name == "TIMEOUT":
        return f"no answer within {timeout:g} s"
    return f"{service.name} refused the message ({service.status.name.lower()})"


def _print(text: str) -> None:
    print(text, flush=True)
