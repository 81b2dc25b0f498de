"""Commits between two revisions from GitHub (or GitHub Enterprise), through PyGithub.

``compare(previous, revision)`` reads EVERY page of the comparison (GitHub lists at most 250
commits without paging; PyGithub pages with ``page``/``per_page`` and the ``Link`` header). The
repository is not fetched first (lazy PyGithub), so the minimum number of requests is one per
page. 5xx and rate limits are retried a bounded number of times with backoff; a rate limit that
resets later than ``max_wait`` seconds is an immediate, clear error saying when it resets.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from deploytrail.commits import Changes, Commit, Status
from deploytrail.errors import ConfigError, InputError, ServiceError, ServiceUnavailable

if TYPE_CHECKING:
    from github.Repository import Repository

__all__ = ["DEFAULT_API", "GitHubClient", "api_url"]

DEFAULT_API = "https://api.github.com"
SERVICE = "GitHub"


def api_url(url: str | None) -> str:
    """The REST root: github.com's, or ``https://HOST/api/v3`` for an Enterprise host."""
    if not url:
        return DEFAULT_API
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(f"--github-url {url!r} is not an http(s) URL",
                          hint="give e.g. https://github.example.com (Enterprise) or leave it out")
    if parts.netloc in ("github.com", "www.github.com"):
        return DEFAULT_API
    if parts.path.strip("/") == "":
        return f"{parts.scheme}://{parts.netloc}/api/v3"
    return url.rstrip("/")


def _retry_class() -> type[Any]:
    from github.GithubException import RateLimitExceededExceedsMaxWait
    from github.GithubRetry import GithubRetry

    class BoundedRetry(GithubRetry):
        """GithubRetry that also treats 429 as a rate limit and never waits past ``max``."""

        def increment(self, method: Any = None, url: Any = None, response: Any = None,
                      *args: Any, **kwargs: Any) -> Any:
            if response is not None and response.status in (403, 429):
                wait = _wait_seconds(response.headers)
                if wait is not None and wait > (self.max_rate_limit_wait or 0):
                    raise RateLimitExceededExceedsMaxWait(
                        response.status, None, dict(response.headers), wait=wait)
            return super().increment(method, url, response, *args, **kwargs)

    return BoundedRetry


def _wait_seconds(headers: Any) -> float | None:
    retry_after = headers.get("Retry-After")
    if retry_after and str(retry_after).isdigit():
        return float(retry_after)
    if str(headers.get("X-RateLimit-Remaining", "")) == "0":
        reset = str(headers.get("X-RateLimit-Reset", ""))
        if reset.isdigit():
            return max(int(reset) - datetime.now(timezone.utc).timestamp(), 0.0) + 1
    return None


class GitHubClient:
    """One GitHub (or Enterprise) server; ``token`` from ``DEPLOYTRAIL_GITHUB_TOKEN``."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        per_page: int = 100,
    ) -> None:
        self.base_url = api_url(base_url)
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.per_page = per_page

    def _repo(self, full_name: str, *, per_page: int = 30) -> Repository:
        from github import Auth, Github

        if full_name.count("/") != 1 or not all(full_name.split("/")):
            raise InputError(f"{full_name!r} is not OWNER/REPO",
                             hint="give --source github:OWNER/REPO, e.g. github:acme/api")
        retry = _retry_class()(
            total=self.retries, backoff_factor=self.backoff, backoff_max=self.max_wait,
            max_rate_limit_wait=self.max_wait, secondary_rate_wait=min(60.0, self.max_wait),
            raise_on_status=False, status_forcelist=[429, *range(500, 600)],
        )
        client = Github(
            auth=Auth.Token(self.token) if self.token else None, base_url=self.base_url,
            timeout=int(max(self.timeout, 1)), retry=retry, lazy=True,
            seconds_between_requests=None, seconds_between_writes=None, per_page=per_page,
        )
        return client.get_repo(full_name)

    def compare(self, full_name: str, previous: str, revision: str) -> Changes:
        """Commits in ``revision`` not in ``previous`` (every page), newest first."""
        import requests
        from github.GithubException import GithubException

        repo = self._repo(full_name)
        try:
            comparison = repo.compare(previous, revision,
                                      comparison_commits_per_page=self.per_page)
            status = str(comparison.status)  # fetches page 1; the commits reuse it
            commits = [self._commit(c._rawData) for c in comparison.commits]
            base_sha = comparison.base_commit.sha
            # Behind: the new revision is the merge base (an ancestor of the previous release).
            merge_base = comparison.merge_base_commit.sha if not commits else None
        except (GithubException, requests.exceptions.RequestException) as exc:
            raise self._error(exc, full_name, f"compare {previous}...{revision}") from None
        if status not in ("ahead", "identical", "behind", "diverged"):
            raise ServiceError(SERVICE, f"unexpected comparison status {status!r}")
        # The full sha of the new revision: the newest listed commit, the base if identical,
        # the merge base if behind (never the tag, branch or short sha the user gave).
        head = (commits[-1].sha if commits else base_sha if status == "identical"
                else merge_base or revision)
        return Changes(
            cast(Status, status), base_sha, head, commits[::-1],
            ahead_by=comparison.ahead_by, behind_by=comparison.behind_by,
            compare_url=comparison.html_url,
        )

    def check(self, full_name: str) -> str:
        """``deploytrail doctor``: the repository is readable; which scopes the token has."""
        import requests
        from github.GithubException import GithubException

        repo = self._repo(full_name)
        try:
            name = repo.complete().full_name  # lazy object: complete() is the request
            scopes = repo.requester.oauth_scopes
        except (GithubException, requests.exceptions.RequestException) as exc:
            raise self._error(exc, full_name, "read the repository") from None
        if not self.token:
            access = "no token: public repositories only"
        elif scopes is None:
            access = "fine-grained or app token"
        else:
            access = "token scopes: " + (", ".join(scopes) or "none")
        return f"{name} readable ({access})"

    def first(self, full_name: str, revision: str, limit: int = 50) -> Changes:
        """No previous release: the newest ``limit`` commits up to ``revision`` (one request)."""
        import requests
        from github.GithubException import GithubException

        repo = self._repo(full_name, per_page=limit + 1)
        try:
            page = repo.get_commits(sha=revision).get_page(0)
            commits = [self._commit(c._rawData) for c in page]
        except (GithubException, requests.exceptions.RequestException) as exc:
            raise self._error(exc, full_name, f"list the commits of {revision}") from None
        head = commits[0].sha if commits else revision
        return Changes("first", None, head, commits[:limit], ahead_by=len(commits[:limit]),
                       truncated=len(commits) > limit)

    @staticmethod
    def _commit(data: dict[str, Any]) -> Commit:
        detail = data.get("commit") or {}
        author = detail.get("author") or {}
        login = (data.get("author") or {}).get("login")
        return Commit.from_message(
            str(data.get("sha", "")), str(detail.get("message") or ""),
            author=str(author.get("name") or login or ""),
            authored_at=str(author.get("date") or ""),
            url=data.get("html_url"),
            is_merge=len(data.get("parents") or []) > 1,
        )

    def _error(self, exc: Exception, full_name: str, action: str) -> Exception:
        """deploytrail's error for what PyGithub or requests raised, with what to do next."""
        from github.GithubException import (
            BadCredentialsException,
            GithubException,
            RateLimitExceededException,
            UnknownObjectException,
        )

        url = f"{self.base_url}/repos/{full_name}"
        where = f"{full_name} on {self.base_url}"
        if isinstance(exc, RateLimitExceededException):
            return ServiceError(
                SERVICE, f"rate limit reached while trying to {action} ({where}); "
                f"{_reset_text(exc.headers or {})}", url=url, method="GET", status=exc.status,
                hint="wait for the reset, or use a token with a higher limit "
                "(DEPLOYTRAIL_GITHUB_TOKEN)",
            )
        if isinstance(exc, BadCredentialsException):
            return ServiceError(SERVICE, f"bad credentials for {where}", url=url, method="GET",
                                status=exc.status,
                                hint="set DEPLOYTRAIL_GITHUB_TOKEN to a valid token")
        if isinstance(exc, UnknownObjectException):
            return InputError(
                f"GitHub cannot {action}: repository {where} or one of the revisions "
                "does not exist (404)",
                hint="check OWNER/REPO and the shas; a private repository needs "
                "DEPLOYTRAIL_GITHUB_TOKEN with read access",
            )
        if isinstance(exc, GithubException):
            body = exc.data if isinstance(exc.data, str) else str(exc.data or "")
            return ServiceError(
                SERVICE, f"could not {action} ({where}), {self.retries} retries spent",
                method="GET", url=url, status=exc.status, body=body,
                hint="GitHub may be having trouble; try again later",
            )
        return ServiceUnavailable(
            SERVICE, f"cannot reach {self.base_url} ({type(exc).__name__})",
            hint="check --github-url and the network; for GitHub Enterprise give "
            "https://HOST (the API at /api/v3 is found by itself)",
        )


def _reset_text(headers: dict[str, Any]) -> str:
    lower = {str(k).lower(): v for k, v in headers.items()}
    reset = str(lower.get("x-ratelimit-reset", ""))
    if reset.isdigit():
        when = datetime.fromtimestamp(int(reset), timezone.utc)
        minutes = max(0, round((when - datetime.now(timezone.utc)).total_seconds() / 60))
        return f"the limit resets at {when:%Y-%m-%d %H:%M:%S} UTC (in about {minutes} min)"
    retry_after = str(lower.get("retry-after", ""))
    if retry_after.isdigit():
        return f"GitHub asks to retry after {retry_after} s"
    return "GitHub did not say when the limit resets"
