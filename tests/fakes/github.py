"""A fake GitHub REST API (github.com or Enterprise at ``/api/v3``) that PyGithub really talks to.

It follows the documented compare endpoint: ``GET /repos/{o}/{r}/compare/{base}...{head}``,
commits in chronological order; without ``page``/``per_page`` only 250 commits (the most recent
of the comparison); with them, pages of ``per_page`` (default 30, at most ``max_per_page``)
linked by ``Link`` headers, the files only on page 1; ``status`` ahead/behind/identical/diverged.
Rate limits answer 403 or 429 with ``X-RateLimit-*`` headers and GitHub's message. The commit
graph comes from a real git repository (``load_git``), so the fake and git always agree.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

from fakes.http import FakeAPI, Reply, Request

__all__ = ["FakeGitHub", "GitCommit"]

UNPAGED_LIMIT = 250


@dataclass
class GitCommit:
    sha: str
    parents: list[str]
    author: str
    email: str
    date: str
    message: str
    order: int = 0  # position in git's topological, oldest-first order


@dataclass
class FakeRepo:
    owner: str
    name: str
    commits: dict[str, GitCommit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)


class FakeGitHub:
    """Routes on a :class:`FakeAPI`; ``url`` is what to give PyGithub as ``base_url``."""

    def __init__(self, api: FakeAPI, *, prefix: str = "/api/v3", max_per_page: int = 100,
                 default_per_page: int = 30, token: str | None = None) -> None:
        self.api = api
        self.prefix = prefix
        self.max_per_page = max_per_page
        self.default_per_page = default_per_page
        self.token = token
        self.repos: dict[str, FakeRepo] = {}
        self._limits: list[tuple[int, dict[str, str], str]] = []
        p = prefix.rstrip("/")
        api.route("GET", p + r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)", self._repo)
        api.route("GET", p + r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/compare/(?P<basehead>.+)",
                  self._compare)
        api.route("GET", p + r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/commits", self._commits)

    @property
    def url(self) -> str:
        """The API root (``http://127.0.0.1:PORT/api/v3``)."""
        return self.api.url + self.prefix.rstrip("/")

    @property
    def web_url(self) -> str:
        return self.api.url

    # --- set-up -------------------------------------------------------------------------
    def load_git(self, full_name: str, path: Path) -> FakeRepo:
        """Serve ``full_name`` with every commit and branch of the git repository at ``path``."""
        owner, name = full_name.split("/")
        repo = FakeRepo(owner, name)
        out = subprocess.run(
            ["git", "log", "--all", "--topo-order", "--reverse", "-z",
             "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%B"],
            cwd=path, capture_output=True, check=True,
        ).stdout.decode("utf-8", "replace")
        fields = out.split("\0")
        for order, i in enumerate(range(0, len(fields) - 5, 6)):
            sha, parents, author, email, date, body = fields[i : i + 6]
            sha = sha.lstrip("\n")
            repo.commits[sha] = GitCommit(sha, parents.split(), author, email, date, body, order)
        refs = subprocess.run(
            ["git", "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads",
             "refs/tags"], cwd=path, capture_output=True, check=True, text=True,
        ).stdout.split("\n")
        for line in filter(None, refs):
            ref, sha = line.split()
            repo.refs[ref] = sha
        self.repos[full_name] = repo
        return repo

    def rate_limit_next(self, count: int, *, status: int = 403, reset_in: int = 3600,
                        retry_after: int | None = None, secondary: bool = False) -> int:
        """Answer the next ``count`` requests as rate-limited; returns the reset epoch."""
        import time

        reset = int(time.time()) + reset_in
        headers = {
            "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset), "X-RateLimit-Used": "5000",
            "X-RateLimit-Resource": "core",
        }
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again." if secondary else
            "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated "
            "requests get a higher rate limit. Check out the documentation for more details.)"
        )
        self._limits.extend([(status, headers, message)] * count)
        return reset

    # --- JSON shapes --------------------------------------------------------------------
    def _api(self, repo: FakeRepo, rest: str = "") -> str:
        return f"{self.url}/repos/{repo.owner}/{repo.name}{rest}"

    def _web(self, repo: FakeRepo, rest: str = "") -> str:
        return f"{self.web_url}/{repo.owner}/{repo.name}{rest}"

    def _commit_json(self, repo: FakeRepo, c: GitCommit) -> dict[str, Any]:
        person = {"name": c.author, "email": c.email, "date": c.date}
        return {
            "sha": c.sha,
            "node_id": "C_" + c.sha[:20],
            "url": self._api(repo, f"/commits/{c.sha}"),
            "html_url": self._web(repo, f"/commit/{c.sha}"),
            "comments_url": self._api(repo, f"/commits/{c.sha}/comments"),
            "commit": {
                "url": self._api(repo, f"/git/commits/{c.sha}"),
                "author": person, "committer": person, "message": c.message.rstrip("\n"),
                "tree": {"sha": "0" * 40, "url": self._api(repo, "/git/trees/" + "0" * 40)},
                "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned", "signature": None,
                                 "payload": None},
            },
            "author": None,
            "committer": None,
            "parents": [{"sha": p, "url": self._api(repo, f"/commits/{p}"),
                         "html_url": self._web(repo, f"/commit/{p}")} for p in c.parents],
        }

    # --- handlers -----------------------------------------------------------------------
    def _gate(self, request: Request) -> Reply | None:
        if self._limits:
            status, headers, message = self._limits.pop(0)
            return Reply.json({"message": message, "documentation_url":
                               "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                              status, headers)
        if self.token is not None:
            auth = request.header("Authorization") or ""
            if auth not in (f"token {self.token}", f"Bearer {self.token}"):
                return Reply.json({"message": "Bad credentials",
                                   "documentation_url": "https://docs.github.com/rest"}, 401)
        return None

    def _find_repo(self, request: Request) -> FakeRepo | None:
        return self.repos.get(f"{request.params['owner']}/{request.params['repo']}")

    def _resolve(self, repo: FakeRepo, ref: str) -> GitCommit | None:
        ref = unquote(ref)
        if ref in repo.refs:
            return repo.commits[repo.refs[ref]]
        if len(ref) >= 4:
            found = [c for sha, c in repo.commits.items() if sha.startswith(ref.lower())]
            if len(found) == 1:
                return found[0]
        return None

    def _repo(self, request: Request) -> Reply:
        if (gate := self._gate(request)) is not None:
            return gate
        repo = self._find_repo(request)
        if repo is None:
            return _not_found()
        return Reply.json({
            "id": 1, "name": repo.name, "full_name": f"{repo.owner}/{repo.name}",
            "owner": {"login": repo.owner}, "private": False,
            "url": self._api(repo), "html_url": self._web(repo),
            "default_branch": "main",
        })

    def _ancestors(self, repo: FakeRepo, sha: str) -> set[str]:
        seen: set[str] = set()
        stack = [sha]
        while stack:
            current = stack.pop()
            if current in seen or current not in repo.commits:
                continue
            seen.add(current)
            stack.extend(repo.commits[current].parents)
        return seen

    def _compare(self, request: Request) -> Reply:
        if (gate := self._gate(request)) is not None:
            return gate
        repo = self._find_repo(request)
        basehead = request.params["basehead"]
        if repo is None or "..." not in basehead:
            return _not_found()
        base_ref, _, head_ref = basehead.partition("...")
        base, head = self._resolve(repo, base_ref), self._resolve(repo, head_ref)
        if base is None or head is None:
            return _not_found()
        in_base, in_head = self._ancestors(repo, base.sha), self._ancestors(repo, head.sha)
        ahead = sorted((repo.commits[s] for s in in_head - in_base), key=lambda c: c.order)
        behind_by = len(in_base - in_head)
        common = in_base & in_head
        merge_base = max((repo.commits[s] for s in common), key=lambda c: c.order, default=base)
        status = ("identical" if not ahead and not behind_by else "ahead" if not behind_by
                  else "behind" if not ahead else "diverged")
        paged = "page" in request.query or "per_page" in request.query
        headers: dict[str, str] = {}
        if paged:
            per_page = min(int(request.arg("per_page") or self.default_per_page),
                           self.max_per_page)
            page = max(int(request.arg("page") or 1), 1)
            listed = ahead[(page - 1) * per_page : page * per_page]
            last = max((len(ahead) + per_page - 1) // per_page, 1)
            if links := self._links(request, page, last, per_page):
                headers["Link"] = links  # GitHub sends no Link header for a single page
        else:
            page = 1
            listed = ahead[-UNPAGED_LIMIT:]
        path = f"/compare/{quote(base_ref)}...{quote(head_ref)}"
        return Reply.json({
            "url": self._api(repo, path),
            "html_url": self._web(repo, path),
            "permalink_url": self._web(repo, f"/compare/{base.sha[:7]}...{head.sha[:7]}"),
            "diff_url": self._web(repo, path + ".diff"),
            "patch_url": self._web(repo, path + ".patch"),
            "base_commit": self._commit_json(repo, base),
            "merge_base_commit": self._commit_json(repo, merge_base),
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": behind_by,
            "total_commits": len(ahead),
            "commits": [self._commit_json(repo, c) for c in listed],
            "files": [] if page == 1 else None,
        }, headers=headers)

    def _links(self, request: Request, page: int, last: int, per_page: int) -> str:
        def link(number: int, rel: str) -> str:
            kept = {k: v[0] for k, v in request.query.items() if k not in ("page", "per_page")}
            query = urlencode({**kept, "page": number, "per_page": per_page})
            return f'<{self.api.url}{quote(request.path)}?{query}>; rel="{rel}"'

        links = []
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return ", ".join(links)

    def _commits(self, request: Request) -> Reply:
        if (gate := self._gate(request)) is not None:
            return gate
        repo = self._find_repo(request)
        if repo is None:
            return _not_found()
        start = self._resolve(repo, request.arg("sha") or "main")
        if start is None:
            return _not_found()
        listed = sorted((repo.commits[s] for s in self._ancestors(repo, start.sha)),
                        key=lambda c: c.order, reverse=True)
        per_page = min(int(request.arg("per_page") or self.default_per_page), self.max_per_page)
        page = max(int(request.arg("page") or 1), 1)
        last = max((len(listed) + per_page - 1) // per_page, 1)
        chunk = listed[(page - 1) * per_page : page * per_page]
        links = self._links(request, page, last, per_page)
        return Reply.json([self._commit_json(repo, c) for c in chunk],
                          headers={"Link": links} if links else {})


def _not_found() -> Reply:
    return Reply.json({"message": "Not Found",
                       "documentation_url": "https://docs.github.com/rest"}, 404)
