"""Write one TeamCity meta-runner XML per step into teamcity_meta_runners/, or check them."""

from __future__ import annotations

from deploytrail.params import CHECK, Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytrail.teamcity import Reporter

PARAMS = (
    Param("out", "Folder the meta-runner files go to.", default="teamcity_meta_runners"),
    CHECK,
)


def run(args: Args, report: Reporter) -> int:
    from pathlib import Path

    from deploytrail.render.generated import write_or_check
    from deploytrail.render.metarunner import render_all
    from deploytrail.steps import STEPS

    return write_or_check(report, Path(args.required("out")), render_all(list(STEPS.values())),
                          check=args.flag("check"), source="the step declarations",
                          command="deploytrail metarunners", pattern="deploytrail_*.xml")


STEP = Step(
    words=("metarunners",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    metarunner=False,
)
