"""Where deploytrail keeps its own state (ledger, spool, aliases)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["state_dir"]


def state_dir() -> Path:
    """``DEPLOYTRAIL_HOME``, else the platform's per-user state directory, created on demand."""
    if home := os.environ.get("DEPLOYTRAIL_HOME"):
        path = Path(home)
    elif sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        path = Path(local) / "deploytrail"
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        path = Path(base) / "deploytrail"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from deploytrail.errors import ConfigError

        raise ConfigError(
            f"cannot use {path} as deploytrail's state directory: {exc.strerror}",
            hint="set DEPLOYTRAIL_HOME to a writable folder",
        ) from None
    return path
