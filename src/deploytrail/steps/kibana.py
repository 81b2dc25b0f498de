"""Render the Kibana saved objects, Logstash pipeline and index template from markers.toml."""

from __future__ import annotations

from deploytrail.errors import ConfigError, ServiceError
from deploytrail.params import CHECK, Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from deploytrail.teamcity import Reporter

DETAILS = (
    "Writes deploytrail.ndjson, logstash/deploytrail.conf and elasticsearch/index-template.json "
    "under --out. Rendering is deterministic (stable ids, sorted keys), so the files are "
    "committed and --check fails when they no longer match the marker definitions. "
    "'deploytrail kibana import' uploads the saved objects; docs/kibana.md shows all three "
    "imports."
)

PARAMS = (
    Param("markers", "Marker definitions file.", default="kibana_markers/markers.toml"),
    Param("out", "Folder the rendered files go to.", default="kibana_markers"),
    CHECK,
)


def run(args: Args, report: Reporter) -> int:
    from pathlib import Path

    from deploytrail.render.generated import write_or_check
    from deploytrail.render.kibana import render_all
    from deploytrail.render.markers import load_markers

    markers = Path(args.required("markers"))
    out = Path(args.required("out"))
    files = render_all(load_markers(markers))
    return write_or_check(report, out, files, check=args.flag("check"), source=str(markers),
                          command="deploytrail kibana")


STEP = Step(
    words=("kibana",),
    summary=__doc__.strip() if __doc__ else "",
    params=PARAMS,
    run=run,
    details=DETAILS,
    metarunner=False,
)


# --- deploytrail kibana import -------------------------------------------------------------


def _http_url(value: str) -> str | None:
    if value.startswith(("http://", "https://")) and len(value.split("://", 1)[1]) > 0:
        return None
    return "must be an http:// or https:// URL, e.g. https://kibana.example.com:5601"


def _space_id(value: str) -> str | None:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789_-")
    if set(value) <= allowed:
        return None
    return "a Kibana space id has only lowercase letters, digits, '_' and '-'"


IMPORT_PARAMS = (
    Param("kibana_url", "Kibana base URL.", required=True, check=_http_url),
    Param("space", "Kibana space id to import into (default: the default space).",
          check=_space_id),
    Param("file", "Saved objects to import.", default="kibana_markers/deploytrail.ndjson"),
    Param("kibana_api_key", "Kibana API key (the encoded value).", kind="password"),
    Param("kibana_username", "Kibana user, when no API key is given."),
    Param("kibana_password", "Password of the Kibana user.", kind="password"),
)


def run_import(args: Args, report: Reporter) -> int:
    from pathlib import Path

    from deploytrail.clients.kibana import KibanaClient
    from deploytrail.redact import mask_url

    path = Path(args.required("file"))
    data, count = _read_objects(path)
    username, password = args.text("kibana_username"), args.text("kibana_password")
    if bool(username) != bool(password):
        raise ConfigError(
            "a Kibana user needs both a name and a password",
            hint="set DEPLOYTRAIL_KIBANA_USERNAME and DEPLOYTRAIL_KIBANA_PASSWORD, or "
                 "DEPLOYTRAIL_KIBANA_API_KEY instead",
        )
    url, space = args.required("kibana_url"), args.text("space")
    client = KibanaClient(url, api_key=args.text("kibana_api_key"), username=username,
                          password=password, space=space)
    where = mask_url(url) + (f" (space {space})" if space else "")
    report.progress(f"importing {count} saved objects from {path} into {where}")
    result = client.import_saved_objects(data, filename=path.name)
    if not result.success or result.errors:
        lines = "\n  - ".join(e.describe() for e in result.errors) or "(Kibana listed none)"
        raise ServiceError(
            "Kibana",
            f"imported {result.success_count} of {count} saved objects from {path}; "
            f"not imported:\n  - {lines}",
            hint="fix what each line says, then run 'deploytrail kibana import' again "
                 "(it overwrites, so nothing is duplicated)",
        )
    report.info(f"imported {result.success_count} saved objects into {where}")
    return 0


def _read_objects(path: Path) -> tuple[bytes, int]:
    """An NDJSON file and its object count, checked so a broken file never reaches Kibana."""
    import json

    try:
        data = path.read_bytes()
        lines = data.decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the saved objects: {error}",
                          hint="render it with 'deploytrail kibana' or give --file") from None
    count = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if not isinstance(item, dict) or not {"type", "id", "attributes"} <= set(item):
            raise ConfigError(f"{path}:{number}: not a saved object (one JSON object per line "
                              "with type, id and attributes)",
                              hint="render the file again with 'deploytrail kibana'")
        count += 1
    if not count:
        raise ConfigError(f"{path}: holds no saved objects")
    return data, count


IMPORT_STEP = Step(
    words=("kibana", "import"),
    summary="Import the rendered saved objects into Kibana (overwrites, never duplicates).",
    params=IMPORT_PARAMS,
    run=run_import,
    details="POSTs the NDJSON to /api/saved_objects/_import?overwrite=true (or "
            "/s/SPACE/api/...) and lists every object Kibana did not import. Credentials come "
            "from DEPLOYTRAIL_KIBANA_API_KEY, or DEPLOYTRAIL_KIBANA_USERNAME and "
            "DEPLOYTRAIL_KIBANA_PASSWORD.",
    metarunner=False,
)
