"""The explicit registry of steps: one line per step, in the order ``--help`` lists them."""

from __future__ import annotations

from deploytrail.step import Step
from deploytrail.steps import docs, history, metarunners

__all__ = ["GROUPS", "STEPS"]

#: Summaries of commands that group several steps (``deploytrail marker start|finish``).
GROUPS: dict[str, str] = {}

STEPS: dict[str, Step] = {
    step.id: step
    for step in (
        history.STEP,
        metarunners.STEP,
        docs.STEP,
    )
}
