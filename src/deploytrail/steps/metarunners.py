"""Write one TeamCity meta-runner XML per step into teamcity_meta_runners/, or check them."""

from __future__ import annotations

from deploytrail.errors import StepFailed
from deploytrail.params import Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytrail.teamcity import Reporter

PARAMS = (
    Param("out", "Folder the meta-runner files go to.", default="teamcity_meta_runners"),
    Param("check", "Only compare the files with a fresh render; fail when any differs.",
          kind="checkbox"),
)


def run(args: Args, report: Reporter) -> int:
    from pathlib import Path

    from deploytrail.render.generated import differing, write_all
    from deploytrail.render.metarunner import render_all
    from deploytrail.steps import STEPS

    out = Path(args.required("out"))
    files = render_all(list(STEPS.values()))
    if args.flag("check"):
        problems = differing(out, files, pattern="deploytrail_*.xml")
        if problems:
            raise StepFailed(
                "meta-runners are out of date:\n  " + "\n  ".join(problems),
                hint="run 'deploytrail metarunners' and commit the result",
            )
        report.info(f"{len(files)} meta-runners in {out} match the step declarations")
        return 0
    for path in write_all(out, files):
        report.info(f"wrote {path}")
    return 0


STEP = Step(
    words=("metarunners",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    metarunner=False,
)
