"""Write the commands reference page (docs/steps.md) from the step declarations, or check it."""

from __future__ import annotations

from deploytrail.errors import StepFailed
from deploytrail.params import Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytrail.teamcity import Reporter

PARAMS = (
    Param("out", "File the reference page goes to.", default="docs/steps.md"),
    Param("check", "Only compare the page with a fresh render; fail when it differs.",
          kind="checkbox"),
)


def run(args: Args, report: Reporter) -> int:
    from pathlib import Path

    from deploytrail.render.docs import render_steps_page
    from deploytrail.render.generated import differing, write_all
    from deploytrail.steps import STEPS

    out = Path(args.required("out"))
    page = {out.name: render_steps_page(list(STEPS.values()))}
    if args.flag("check"):
        if differing(out.parent, page):
            raise StepFailed(
                f"{out} differs from a fresh render of the step declarations",
                hint="run 'deploytrail docs' and commit the result",
            )
        report.info(f"{out} matches the step declarations")
        return 0
    write_all(out.parent, page)
    report.info(f"wrote {out}")
    return 0


STEP = Step(
    words=("docs",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    metarunner=False,
)
