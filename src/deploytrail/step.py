"""A step: declared once, run from the CLI, a TeamCity meta-runner or ``deploytrail release``."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at start-up: ``--help`` must stay fast
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Literal

    from deploytrail.params import Args, Param
    from deploytrail.teamcity import Reporter

    #: When TeamCity runs the step (``teamcity.step.mode``): ``default`` only if all before
    #: succeeded; ``execute_always`` even when an earlier step failed or the build was stopped.
    Mode = Literal["default", "execute_if_success", "execute_if_failed", "execute_always"]

    #: What a step does; returns an exit code (0 when it did its job) or None for 0.
    Run = Callable[[Args, Reporter], int | None]

__all__ = ["Step"]

class Step:
    """One user-facing command. ``summary`` is the first line of its help everywhere.

    ``words``: the command words, ``("marker", "start")`` is ``deploytrail marker start``.
    ``details``: longer help under the summary. ``metarunner``: offered as a TeamCity
    meta-runner (tools such as ``metarunners`` are not). ``mode``: the meta-runner's
    ``teamcity.step.mode``. ``takes_command``: accepts ``-- COMMAND [ARGS...]``.
    """

    __slots__ = ("details", "metarunner", "mode", "params", "run", "summary", "takes_command",
                 "words")

    def __init__(
        self,
        words: tuple[str, ...],
        summary: str,
        params: Sequence[Param],
        run: Run,
        *,
        details: str = "",
        metarunner: bool = True,
        mode: Mode = "default",
        takes_command: bool = False,
    ) -> None:
        self.words = words
        self.summary = summary
        self.params = params
        self.run = run
        self.details = details
        self.metarunner = metarunner
        self.mode: Mode = mode
        self.takes_command = takes_command

    def __repr__(self) -> str:
        return f"Step({self.id!r})"

    @property
    def id(self) -> str:
        return " ".join(self.words)

    @property
    def runner_id(self) -> str:
        """Meta-runner id (its file name): ``deploytrail_marker_start``."""
        return "deploytrail_" + "_".join(w.replace("-", "_") for w in self.words)
