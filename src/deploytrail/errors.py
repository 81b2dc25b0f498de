"""The one exception tree of deploytrail.

Steps and clients raise; only :func:`deploytrail.cli.main` turns an error into an exit code::

    DeploytrailError                  anything deploytrail reports on purpose
    ├── InputError (ValueError)       bad input: exit 2
    │   ├── ParamError                one or more params are missing or invalid (all listed)
    │   ├── RecordError               the release record is unreadable or not ours
    │   ├── ConfigError               a configuration file or URL is malformed
    │   └── UnknownAlias              a chat alias that is not defined
    ├── StepFailed                    the step could not do its job for a domain reason: exit 1
    │   ├── AccessDenied              a user or room is not allowed to use an alias
    │   └── NoGreenBuild              no build passes the promotion rules
    ├── ServiceError                  an outside system failed or refused: exit 3
    │   └── ServiceUnavailable        it could not be reached (refused, timeout, DNS)
    └── Interrupted                   Ctrl-C or SIGTERM: exit 130

Every message names what was wrong and what to do next. Messages never contain secrets:
a :class:`ServiceError` carries the method, the URL with credentials masked, the status and the
server's own words, shortened.
"""

from __future__ import annotations

from deploytrail.redact import mask_url, shorten

__all__ = [
    "AccessDenied",
    "ConfigError",
    "DeploytrailError",
    "InputError",
    "Interrupted",
    "NoGreenBuild",
    "ParamError",
    "RecordError",
    "ServiceError",
    "ServiceUnavailable",
    "StepFailed",
    "UnknownAlias",
]


class DeploytrailError(Exception):
    """Base of every error deploytrail raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  → {hint}")


class InputError(DeploytrailError, ValueError):
    """The user gave something deploytrail cannot use."""

    exit_code = 2


class ParamError(InputError):
    """One or more params are missing or invalid; ``problems`` lists them all."""

    def __init__(self, problems: list[str], *, command: str = "deploytrail") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{command}: {len(problems)} problem(s) with the given options:\n{lines}",
            hint=f"see '{command} --help' for every option and its environment variable",
        )


class RecordError(InputError):
    """The release record file is corrupt, or belongs to something else."""


class ConfigError(InputError):
    """A configuration file, URL or template is malformed."""


class UnknownAlias(InputError):
    """A deploy alias that is not defined."""


class StepFailed(DeploytrailError):
    """The step could not do its job for a domain reason (not a crash, not a server)."""

    exit_code = 1


class AccessDenied(StepFailed):
    """The requester is not allowed to do this."""


class NoGreenBuild(StepFailed):
    """No build passes the promotion rules."""


class ServiceError(DeploytrailError):
    """An outside system answered with an error."""

    exit_code = 3

    def __init__(
        self,
        service: str,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        status: int | None = None,
        body: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.service = service
        self.method = method
        self.url = mask_url(url) if url else None
        self.status = status
        self.body = shorten(body) if body else None
        parts = [f"{service}: {message}"]
        if method and self.url:
            parts.append(f"({method} {self.url}" + (f" → {status})" if status else ")"))
        if self.body:
            parts.append(f"— server said: {self.body}")
        super().__init__(" ".join(parts), hint=hint)


class ServiceUnavailable(ServiceError):
    """An outside system could not be reached at all."""


class Interrupted(DeploytrailError):
    """The user or the build agent stopped the run."""

    exit_code = 130
