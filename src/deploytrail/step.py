"""A step: declared once, run from the CLI, a TeamCity meta-runner or ``deploytrail release``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from deploytrail.params import Args, Param
    from deploytrail.teamcity import Reporter

__all__ = ["Mode", "Run", "Step"]

#: When TeamCity runs the step (``teamcity.step.mode``): ``default`` only if all before
#: succeeded; ``execute_always`` even when an earlier step failed or the build was stopped.
Mode = Literal["default", "execute_if_success", "execute_if_failed", "execute_always"]

#: What a step does; returns an exit code (0 when it did its job) or None for 0.
Run = Callable[["Args", "Reporter"], "int | None"]


@dataclass(frozen=True)
class Step:
    """One user-facing command. ``summary`` is the first line of its help everywhere."""

    #: Command words: ``("marker", "start")`` is ``deploytrail marker start``.
    words: tuple[str, ...]
    summary: str
    params: Sequence[Param]
    run: Run
    #: Longer help shown under the summary.
    details: str = ""
    #: Offered as a TeamCity meta-runner (tools such as ``metarunners`` are not).
    metarunner: bool = True
    mode: Mode = "default"
    #: Accepts ``-- COMMAND [ARGS...]`` after its options.
    takes_command: bool = False

    @property
    def id(self) -> str:
        return " ".join(self.words)

    @property
    def runner_id(self) -> str:
        """Meta-runner id (its file name): ``deploytrail_marker_start``."""
        return "deploytrail_" + "_".join(w.replace("-", "_") for w in self.words)
