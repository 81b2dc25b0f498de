"""Write the commands reference page (docs/steps.md) from the step declarations, or check it."""

from __future__ import annotations

from deploytrail.params import CHECK, Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytrail.teamcity import Reporter

PARAMS = (
    Param("out", "File the reference page goes to.", default="docs/steps.md"),
    CHECK,
)


def run(args: Args, report: Reporter) -> int:
    from pathlib import Path

    from deploytrail.render.docs import render_steps_page
    from deploytrail.render.generated import write_or_check
    from deploytrail.steps import STEPS

    out = Path(args.required("out"))
    page = {out.name: render_steps_page(list(STEPS.values()))}
    return write_or_check(report, out.parent, page, check=args.flag("check"),
                          source="the step declarations", command="deploytrail docs")


STEP = Step(
    words=("docs",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    metarunner=False,
)
