"""Deploy aliases: add, list and remove the short names that 'deploy NAME' promotes."""

from __future__ import annotations

from deploytrail.params import Param
from deploytrail.step import Step

TYPE_CHECKING = False  # typing is not imported at start-up: ``--help`` must stay fast
if TYPE_CHECKING:
    from deploytrail.clients.aliases import Alias
    from deploytrail.params import Args
    from deploytrail.teamcity import Reporter

SUMMARY = "Manage deploy aliases: what 'deploytrail promote NAME' pins and queues, and who may."

ALIASES = (
    Param(
        "aliases",
        "Where aliases are kept: a TOML file (default: aliases.toml in the deploytrail state "
        "directory) or redis://HOST:PORT/DB?key=NAME to share them with a team.",
    ),
)



def build_type_check(value: str) -> str | None:
    from deploytrail.clients.teamcity import build_type_problem

    return build_type_problem(value)


def build_id_check(value: str) -> str | None:
    from deploytrail.clients.teamcity import build_id_problem

    return build_id_problem(value)


def locator_check(value: str) -> str | None:
    """For a branch name or build number, which goes into a TeamCity locator."""
    from deploytrail.clients.teamcity import locator_value_problem

    return locator_value_problem(value)


NAME = Param("name", "Alias name, e.g. api.", required=True, positional=True)

ADD_PARAMS = (
    NAME,
    Param("pin_build_type", "Non-production build configuration id whose green build is "
          "pinned, e.g. Api_Build.", required=True, check=build_type_check),
    Param("deploy_build_type", "Production build configuration id to queue, e.g. "
          "Api_DeployProd.", required=True, check=build_type_check),
    Param("nonprod_url", "Non-production TeamCity URL (default: --nonprod-teamcity-url of "
          "promote)."),
    Param("prod_url", "Production TeamCity URL (default: --prod-teamcity-url of promote)."),
    Param("branch", "Branch whose builds are promoted (default: the default branch).",
          check=locator_check),
    Param("allow_user", "User allowed to promote (a name or glob); several allowed. "
          "Nobody listed: anyone.", multiple=True),
    Param("allow_room", "Chat room allowed to promote from; several allowed. None listed: "
          "any room.", multiple=True),
    Param("source", "Where 'deploy NAME --dry-run' reads the commits that would go out: "
          "github:OWNER/REPO or git:PATH."),
    Param("previous", "Where the previous release's revision comes from for the dry run: "
          "ledger (default), info:URL or sha:REV."),
    Param("service", "Service name in the ledger and deploy events (default: the alias name)."),
    *ALIASES,
)


def describe(alias: Alias) -> str:
    """One line: what the alias pins and queues, and who may use it."""
    users = ", ".join(alias.allow_users) or "anyone"
    rooms = ", ".join(alias.allow_rooms) or "any room"
    where = f" on {alias.branch}" if alias.branch else ""
    return (f"{alias.name}: pin {alias.pin_build_type}{where}"
            f"{' @ ' + alias.nonprod_url if alias.nonprod_url else ''} → queue "
            f"{alias.deploy_build_type}{' @ ' + alias.prod_url if alias.prod_url else ''}"
            f" (users: {users}; rooms: {rooms})")


def add_alias(args: Args, report: Reporter) -> int:
    from deploytrail.clients.aliases import Alias, check_name, open_store
    from deploytrail.errors import ParamError

    name = args.required("name")
    problems = [p for p in [check_name(name)] if p]
    for url_param in ("nonprod_url", "prod_url"):
        url = args.text(url_param)
        if url and not url.startswith(("http://", "https://")):
            problems.append(f"--{url_param.replace('_', '-')}: {url!r} is not an http(s) URL")
        if url and "@" in url.split("//", 1)[-1].split("/", 1)[0]:
            problems.append(f"--{url_param.replace('_', '-')}: no credentials in the URL; "
                            "tokens come from the environment")
    if problems:
        raise ParamError(problems, command="deploytrail alias add")
    alias = Alias(
        name=name,
        pin_build_type=args.required("pin_build_type"),
        deploy_build_type=args.required("deploy_build_type"),
        nonprod_url=(args.text("nonprod_url") or "").rstrip("/") or None,
        prod_url=(args.text("prod_url") or "").rstrip("/") or None,
        branch=args.text("branch"),
        allow_users=tuple(args.many("allow_user")),
        allow_rooms=tuple(args.many("allow_room")),
        source=args.text("source"),
        previous=args.text("previous"),
        service=args.text("service"),
    )
    store = open_store(args.text("aliases"))
    store.add(alias)
    report.info(f"saved alias {describe(alias)} in {store.where}")
    return 0


def list_aliases(args: Args, report: Reporter) -> int:
    from deploytrail.clients.aliases import open_store

    store = open_store(args.text("aliases"))
    aliases = store.all()
    if not aliases:
        report.info(f"no aliases in {store.where}: add one with 'deploytrail alias add'")
    for alias in aliases:
        report.info(describe(alias))
    return 0


def remove_alias(args: Args, report: Reporter) -> int:
    from deploytrail.clients.aliases import open_store
    from deploytrail.errors import StepFailed

    name = args.required("name")
    store = open_store(args.text("aliases"))
    if not store.remove(name):
        raise StepFailed(f"no alias {name!r} in {store.where}; nothing removed",
                         hint="see 'deploytrail alias list'")
    report.info(f"removed alias {name} from {store.where}")
    return 0


ADD = Step(words=("alias", "add"), summary="Add or replace a deploy alias.", params=ADD_PARAMS,
           run=add_alias, metarunner=False,
           details="Tokens are never stored: promote reads DEPLOYTRAIL_NONPROD_TEAMCITY_TOKEN "
           "and DEPLOYTRAIL_PROD_TEAMCITY_TOKEN from the environment.")
LIST = Step(words=("alias", "list"), summary="List the deploy aliases.", params=ALIASES,
            run=list_aliases, metarunner=False)
REMOVE = Step(words=("alias", "remove"), summary="Remove a deploy alias.",
              params=(NAME, *ALIASES), run=remove_alias, metarunner=False)
STEPS = (ADD, LIST, REMOVE)
