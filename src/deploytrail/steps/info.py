"""Write the deployment-info JSON a service serves at /deployment-info (what it runs now)."""

from __future__ import annotations

import os

from deploytrail.params import Param
from deploytrail.step import Step

TYPE_CHECKING = False  # typing is not imported at start-up: ``--help`` must stay fast
if TYPE_CHECKING:
    from pathlib import Path

    from deploytrail.params import Args
    from deploytrail.teamcity import Reporter



def _revision_problem(value: str) -> str | None:
    from deploytrail.clients.deployment_info import is_revision

    return None if is_revision(value) else "is not a 7-40 hex commit id"


PARAMS = (
    Param("revision", "Git sha the service now runs (7-40 hex characters).", required=True,
          check=_revision_problem,
          teamcity_default="%build.vcs.number%"),
    Param("version", "Version of the service, e.g. 1.4.2."),
    Param("build_number", "Build number of the release.", teamcity_default="%build.number%"),
    Param("out", "File to write; the service serves it (deploytrail.deployment_info).",
          required=True),
)


def write_info(out: Path, revision: str, *, version: str | None = None,
               build_number: str | None = None) -> dict[str, str | None]:
    """Write the JSON atomically (temp file + rename) so a reader never sees half a file."""
    import contextlib
    import json
    import uuid
    from datetime import datetime, timezone

    data = {
        "revision": revision.lower(),
        "deployed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "version": version,
        "build_number": build_number,
    }
    from deploytrail.errors import InputError

    if out.is_dir():
        raise InputError(f"--out {out} is a folder", hint="give the path of the JSON file to "
                         f"write, e.g. {out / 'deployment-info.json'}")
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):  # nothing to remove when the folder is missing
            tmp.unlink()
        raise InputError(f"cannot write {out}: {exc.strerror or exc}",
                         hint="give --out a path in a folder this agent may write to") from None
    return data


def run(args: Args, report: Reporter) -> int:
    from pathlib import Path

    out = Path(args.required("out"))
    data = write_info(out, args.required("revision"), version=args.text("version"),
                      build_number=args.text("build_number"))
    report.info(f"wrote {out}: revision {data['revision']}")
    return 0


STEP = Step(
    words=("info", "write"),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    details="Serve the file with the WSGI app deploytrail.deployment_info (make_app(PATH), or "
    "application with DEPLOYTRAIL_INFO_FILE set); 'deploytrail changelog --previous "
    "info:URL' reads it back.",
)
