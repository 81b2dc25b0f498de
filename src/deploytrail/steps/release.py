"""Run a whole release in one process: changelog, ticket, markers, deploy command, chat, ledger.

The deploy command's output is streamed through untouched and its exit status is deploytrail's.
Ctrl-C or SIGTERM is passed on to it; the finish marker and message still go out (outcome
failure). If the change ticket cannot be filed the deploy does not start, unless
--allow-without-ticket is given: the audit record comes first.
"""

from __future__ import annotations

from deploytrail.params import BUILD, CHAT, EVENTS, RECORD, RELEASE_IDENTITY, Args, Param
from deploytrail.step import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytrail.record import ReleaseRecord
    from deploytrail.teamcity import Reporter

SERVICE, ENV = RELEASE_IDENTITY
PARAMS = (
    # 'deploytrail release -- ./deploy.sh' works as it is: the checkout names the service
    SERVICE.but(required=False, help="Name of the service being deployed (default: the "
                "checkout's folder name, or REPO of --source github:OWNER/REPO)."),
    ENV.but(required=False, default="production"),
    Param("version", "Version being released (default: 'git describe', else the short revision)."),
    Param("revision", "Revision being released (default: the checkout's HEAD)."),
    Param("previous", "Where the previous release's revision comes from: ledger, info:URL, "
          "sha:REV.", default="ledger"),
    Param("source", "Where commits come from: git:PATH or github:OWNER/REPO.", default="git:."),
    Param("github_url", "GitHub Enterprise API URL (https://HOST/api/v3)."),
    Param("tickets", "Where the change ticket goes: ledger or jira+https://HOST/PROJECTKEY.",
          default="ledger"),
    *EVENTS,
    *CHAT,
    *BUILD,
    Param("notify_start", "Also post a chat message when the deploy starts.", kind="checkbox"),
    Param("allow_without_ticket", "Deploy even if the change ticket cannot be filed.",
          kind="checkbox"),
    *RECORD,
)


def run(args: Args, report: Reporter) -> int:
    from deploytrail.errors import InputError

    if not args.command:
        raise InputError("no deploy command given",
                         hint="put it after '--': deploytrail release --service api --env "
                         "production -- ./deploy.sh")
    _check_before_starting(args)
    record = _new_record(args)
    timings: dict[str, float] = {}
    with _timed(timings, "changelog"):
        from deploytrail.steps.changelog import collect_changelog

        collect_changelog(record, source=args.required("source"),
                          previous=args.required("previous"),
                          github_url=args.text("github_url"), reporter=report)
    _save(record, args)
    with _timed(timings, "ticket"):
        _file_ticket(record, args, report)
    _save(record, args)
    events, chat = args.many("events"), args.many("chat")
    password = args.text("redis_password")
    from deploytrail.steps.marker import publish_marker
    from deploytrail.steps.notify import send_notification

    with _timed(timings, "marker start"):
        publish_marker(record, "start", events, reporter=report, redis_password=password)
    if args.flag("notify_start"):
        with _timed(timings, "notify start"):
            send_notification(record, chat, "start", reporter=report)
    _save(record, args)

    with _timed(timings, "command"):
        code, interrupted, not_started = _run_command(list(args.command), report)
    record.outcome = "success" if code == 0 and not interrupted else "failure"
    record.outcome_reason = (not_started or ("interrupted" if interrupted else None if code == 0
                                             else f"deploy command exited with {code}"))
    _save(record, args)

    with _timed(timings, "marker finish"):
        publish_marker(record, "finish", events, reporter=report, redis_password=password)
    with _timed(timings, "ticket comment"):
        _comment(record, args, report)
    with _timed(timings, "notify finish"):
        send_notification(record, chat, "finish", reporter=report)
    with _timed(timings, "ledger"):
        from deploytrail.clients.ledger import Ledger

        Ledger().record_deployment(record)
    record.notes["timings_ms"] = {k: round(v * 1000, 3) for k, v in timings.items()}
    _save(record, args)
    report.info(f"{record.service} {record.version} to {record.environment}: {record.outcome}"
                + (f" ({record.outcome_reason})" if record.outcome_reason else ""))
    return code


def _new_record(args: Args) -> ReleaseRecord:
    """A fresh record (new deployment id): a release never continues an older one."""
    from deploytrail.clients.gitlocal import LocalGit
    from deploytrail.record import ReleaseRecord
    from deploytrail.timeutil import utc_now_iso

    source = args.required("source")
    checkout = LocalGit(source[4:] if source.startswith("git:") else ".")
    revision = args.text("revision")
    if revision is None:
        revision = checkout.resolve("HEAD")
    record = ReleaseRecord(
        service=args.text("service") or (source.rsplit("/", 1)[-1] if source.startswith("github:")
                                         else _checkout_name(checkout.path)),
        environment=args.required("env"),
        revision=revision,
        version=args.text("version") or _describe(checkout.path, revision),
        build_number=args.text("build_number"),
        build_url=args.text("build_url"),
        triggered_by=args.text("triggered_by") or _local_user(),
        started_at=utc_now_iso(),
    )
    return record


def _checkout_name(checkout: object) -> str:
    """The service's default name: the folder at the top of the git checkout."""
    import subprocess
    from pathlib import Path

    done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=str(checkout),
                          capture_output=True, text=True, check=False)
    top = done.stdout.strip() if done.returncode == 0 else str(checkout)
    return Path(top).resolve().name or "service"


def _describe(checkout: object, revision: str) -> str:
    """``git describe --tags --always`` of the revision, else its short sha."""
    import subprocess

    done = subprocess.run(["git", "describe", "--tags", "--always", revision], cwd=str(checkout),
                          capture_output=True, text=True, check=False)
    described = done.stdout.strip()
    return described if done.returncode == 0 and described else revision[:12]


def _local_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name on some containers: the audit still needs a value
        return "unknown"


def _file_ticket(record: ReleaseRecord, args: Args, report: Reporter) -> None:
    from deploytrail.errors import ServiceError, StepFailed
    from deploytrail.steps.ccb import file_ticket

    try:
        file_ticket(record, args.required("tickets"), reporter=report)
    except ServiceError as error:
        if not args.flag("allow_without_ticket"):
            raise StepFailed(
                f"the change ticket could not be filed, so the deploy did not start: {error}",
                hint="fix the ticket system (deploytrail doctor) and run again, or pass "
                "--allow-without-ticket to deploy without an audit ticket",
            ) from error
        report.warning(f"deploying without a change ticket (--allow-without-ticket): {error}")
        record.notes["ticket_error"] = str(error)


def _comment(record: ReleaseRecord, args: Args, report: Reporter) -> None:
    from deploytrail.errors import DeploytrailError
    from deploytrail.steps.ccb import comment_outcome

    if not record.ticket_key:
        return
    try:
        comment_outcome(record, args.required("tickets"), reporter=report)
    except DeploytrailError as error:  # the deploy already happened: say so, don't fail it
        report.warning(f"could not add the outcome to {record.ticket_key}: {error}")


def _check_before_starting(args: Args) -> None:
    """Bad input is refused before anything is recorded: no ticket nor marker for a deploy that
    could never start (an events URL or a command that cannot work)."""
    import os
    import shutil

    from deploytrail.clients.sinks import open_sink
    from deploytrail.errors import InputError

    for url in args.many("events"):
        open_sink(url, password=args.text("redis_password"))  # parses; connects to nothing
    program = args.command[0]
    if os.sep in program or (os.altsep and os.altsep in program):
        if not os.path.isfile(program):
            raise InputError(f"the deploy command {program!r} does not exist",
                             hint=f"check the path (relative to {os.getcwd()})")
        if not os.access(program, os.X_OK):
            raise InputError(f"the deploy command {program!r} is not executable",
                             hint=f"chmod +x {program}, or run it through its interpreter: "
                             f"-- sh {program}")
    elif shutil.which(program) is None:
        raise InputError(f"the deploy command {program!r} is not on PATH",
                         hint=f"give its path, e.g. -- ./{program}")


def _run_command(command: list[str], report: Reporter) -> tuple[int, bool, str | None]:
    """Run the deploy command with inherited stdin/stdout/stderr; pass SIGINT/SIGTERM on.

    Returns its exit status (128+N when killed by signal N), whether it was interrupted, and
    why it could not start (then the status is a shell's: 127 not found, 126 not runnable).
    """
    import signal
    import subprocess

    interrupted = False
    try:
        child = subprocess.Popen(command)
    except OSError as error:  # passed the checks but exec failed, e.g. a bad #! line
        reason = f"the deploy command could not start: {error.strerror or error}"
        report.problem(f"{reason} ({command[0]})")
        return (127 if isinstance(error, FileNotFoundError) else 126), False, reason

    def forward(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True
        if child.poll() is None and not _terminal_sent_it_to(child.pid, signum):
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if interrupted:
        report.warning("the deploy was interrupted; sending the finish marker and message")
    return (128 - code if code < 0 else code), interrupted, None


def _terminal_sent_it_to(pid: int, signum: int) -> bool:
    """True for a Ctrl-C typed in the terminal we run in the foreground of: the terminal sent
    it to the whole foreground process group, the deploy command included. Passing it on would
    make it a second Ctrl-C, which aborts many commands' own clean-up."""
    import os
    import signal

    if signum != signal.SIGINT or not hasattr(os, "tcgetpgrp"):
        return False
    try:
        fd = os.open("/dev/tty", os.O_RDONLY)  # fails when there is no controlling terminal
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp() == os.getpgid(pid)
    except OSError:
        return False
    finally:
        os.close(fd)


def _save(record: ReleaseRecord, args: Args) -> None:
    from deploytrail.record import save

    save(record, args.text("record"))


def _timed(timings: dict[str, float], name: str) -> _Timer:
    return _Timer(timings, name)


class _Timer:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        import time

        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        import time

        self.timings[self.name] = time.perf_counter() - self.start


STEP = Step(
    words=("release",),
    summary=(__doc__ or "").strip().splitlines()[0],
    details="\n".join((__doc__ or "").strip().splitlines()[2:]),
    params=PARAMS,
    run=run,
    metarunner=False,
    takes_command=True,
)
