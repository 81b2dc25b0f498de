"""A local chat service: receives what Apprise posts, so tests assert on the exact messages.

Two doors, both real HTTP that the real Apprise plugins talk to:

- ``json_url(room)`` → ``json://127.0.0.1:PORT/json/ROOM``: Apprise's generic JSON plugin
  posts ``{"version", "title", "message", "attachments", "type"}`` (``plugins/custom_json.py``).
- ``webhook_url(token)`` → ``mmost://127.0.0.1:PORT/TOKEN``: a Slack-style incoming webhook.
  Apprise's ``slack://`` always posts to hooks.slack.com (its URL has no host part: a host is
  read as the first token), so the Slack-compatible Mattermost incoming webhook stands in:
  ``POST /hooks/TOKEN`` with ``{"text": …, "username": …, "icon_url": …}``, the same shape
  Slack's legacy incoming webhooks take.

``refuse(door, status, body)`` makes one door answer with an error from now on (``FakeAPI``'s
``fail_next`` fails the next requests of any door).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakes.http import FakeAPI, Reply, Request

__all__ = ["ChatPost", "FakeChat"]


@dataclass(frozen=True)
class ChatPost:
    """One message as the chat service received it."""

    door: str  # "json:ROOM" or "webhook:TOKEN"
    title: str
    body: str
    type: str
    raw: dict[str, Any]


class FakeChat(FakeAPI):
    def __init__(self) -> None:
        super().__init__()
        self._refusals: dict[str, tuple[int, str]] = {}
        self._accepted: list[ChatPost] = []
        self.route("POST", r"/json/(?P<room>[^/]+)", self._json)
        self.route("POST", r"/hooks/(?P<token>[^/]+)", self._webhook)

    # --- URLs the code under test is given ------------------------------------------------
    def json_url(self, room: str = "deploys", **query: str) -> str:
        tail = "&".join(f"{k}={v}" for k, v in query.items())
        return f"json://127.0.0.1:{self.port}/json/{room}" + (f"?{tail}" if tail else "")

    def webhook_url(self, token: str, *, markdown: bool = False) -> str:
        return f"mmost://127.0.0.1:{self.port}/{token}" + ("?format=markdown" if markdown else "")

    def refuse(self, door: str, status: int = 500, body: str = "internal error") -> None:
        """``door`` is ``json:ROOM`` or ``webhook:TOKEN``."""
        self._refusals[door] = (status, body)

    def reset(self) -> None:
        """Forget every message and refusal (one server shared by the tests of a module)."""
        with self._lock:
            self._accepted.clear()
            self._refusals.clear()
            self.requests.clear()
            self._failures.clear()
            self._drops = 0

    # --- what arrived ---------------------------------------------------------------------
    def posts(self) -> list[ChatPost]:
        """Messages accepted (answered 200), in arrival order."""
        with self._lock:
            return list(self._accepted)

    def only_post(self) -> ChatPost:
        posts = self.posts()
        assert len(posts) == 1, f"expected one message, got {len(posts)}: {posts}"
        return posts[0]

    # --- serving --------------------------------------------------------------------------
    def _answer(self, door: str, post: ChatPost, ok: Reply) -> Reply:
        if door in self._refusals:
            status, body = self._refusals[door]
            return Reply.text(body, status)
        with self._lock:
            self._accepted.append(post)
        return ok

    def _json(self, request: Request) -> Reply:
        data = request.json()
        assert {"version", "title", "message", "type"} <= set(data), data
        post = ChatPost(f"json:{request.params['room']}", data["title"], data["message"],
                        data["type"], data)
        return self._answer(post.door, post, Reply.json({"ok": True}))

    def _webhook(self, request: Request) -> Reply:
        data = request.json()
        assert isinstance(data.get("text"), str), data
        title, _, body = data["text"].replace("\r\n", "\n").partition("\n")
        post = ChatPost(f"webhook:{request.params['token']}", title, body, "", data)
        return self._answer(post.door, post, Reply.text("ok"))
