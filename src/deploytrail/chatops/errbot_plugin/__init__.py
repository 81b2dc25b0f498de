"""The Errbot plugin: point ``BOT_EXTRA_PLUGIN_DIR`` at :data:`PLUGIN_DIR`.

    python -c "import deploytrail.chatops.errbot_plugin as p; print(p.PLUGIN_DIR)"
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PLUGIN_DIR"]

#: The folder holding ``deploytrail.plug`` and its module, for Errbot's config.py.
PLUGIN_DIR = str(Path(__file__).resolve().parent)
