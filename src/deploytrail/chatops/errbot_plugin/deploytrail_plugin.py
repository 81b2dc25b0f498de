"""Errbot shell around :func:`deploytrail.chatops.commands.handle`: no logic of its own."""

from __future__ import annotations

from typing import Any

from errbot import BotPlugin, botcmd

from deploytrail.chatops.commands import handle


class Deploytrail(BotPlugin):  # type: ignore[misc]  # errbot ships no type hints
    """Promote tested TeamCity builds to production (deploytrail)."""

    @botcmd  # type: ignore[untyped-decorator, unused-ignore]
    def deploy(self, msg: Any, args: str) -> str:
        """deploy ALIAS [--build N] [--dry-run] | deploy alias add|list|remove | deploy help"""
        reply = handle(args, user=_user(msg.frm), room=_room(msg.frm),
                       may_edit_aliases=self._is_admin(msg.frm))
        return reply.text

    def _is_admin(self, who: Any) -> bool:
        admins = {str(a).lstrip("@").lower() for a in getattr(self.bot_config, "BOT_ADMINS", ())}
        return _user(who).lstrip("@").lower() in admins or str(who).lower() in admins


def _user(who: Any) -> str:
    """The name ACCESS_CONTROLS sees (``aclattr``): ``@alice`` on Slack, ``alice`` elsewhere."""
    return str(getattr(who, "aclattr", None) or getattr(who, "person", None) or who)


def _room(who: Any) -> str | None:
    """The room of a room occupant; None for a direct message."""
    room = getattr(who, "room", None)
    if room is None:
        return None
    return str(getattr(room, "aclattr", None) or room)
