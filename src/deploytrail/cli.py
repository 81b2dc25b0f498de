"""The command line: argv → step → exit code.

This is the only place where errors become exit codes: 0 done, 1 the step failed, 2 bad input,
3 an outside service failed, 130 interrupted. Parsers are built only for the command asked
for, so ``deploytrail --help`` stays as quick as a bare argparse program.
"""

from __future__ import annotations

import argparse
import signal
import sys

from deploytrail import __version__
from deploytrail.errors import DeploytrailError, Interrupted, ParamError
from deploytrail.params import Args, Param, resolve
from deploytrail.step import Step
from deploytrail.steps import GROUPS, STEPS

TYPE_CHECKING = False  # typing is not imported at start-up
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import NoReturn

    from deploytrail.teamcity import Reporter

__all__ = ["main", "main_exit"]

PROG = "deploytrail"
DESCRIPTION = (
    "Make production deployments visible and auditable: the commits that went out, a "
    "change-control ticket, deploy markers on Kibana graphs and a chat message, from TeamCity "
    "meta-runners or one 'deploytrail release -- COMMAND'."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one deploytrail command; return its exit code."""
    try:
        return _main(argv)
    except BrokenPipeError:  # `deploytrail history | head`: the reader has all it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141  # as a shell reports a command ended by SIGPIPE


def _main(argv: Sequence[str] | None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in words:
        split = words.index("--")
        words, command = words[:split], words[split + 1 :]

    step, rest = _find_step(words)
    try:
        if step is None:
            known = _top_parser().parse_args(rest)  # --help, --version or a usage error exit
            if known.command in GROUPS:
                members = [s.words[1] for s in STEPS.values() if s.words[0] == known.command]
                _top_parser().error(
                    f"'{known.command}' needs one of: {', '.join(members)} "
                    f"(see '{PROG} {known.command} {members[0]} --help')"
                )
            _top_parser().error(f"unknown command {' '.join([known.command, *known.rest])!r}")
        parser = _step_parser(step)
        namespace = parser.parse_args(rest)
        if command and not step.takes_command:
            parser.error("unexpected words after '--': this command runs no other command")
    except SystemExit as stop:  # argparse: --help, --version, or a usage error (exit 2)
        return stop.code if isinstance(stop.code, int) else 2

    from deploytrail.teamcity import reporter_for

    reporter = reporter_for()
    previous_sigterm = signal.getsignal(signal.SIGTERM)
    # SIGTERM (a stopped build, ``kill``) ends a step like Ctrl-C: a message and exit 130.
    # ``release`` passes it on to its deploy command while that runs.
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        values, problems = resolve(step.params, vars(namespace))
        _remember_secrets(step, values)
        if problems:
            raise ParamError(problems, command=f"{PROG} {step.id}")
        with reporter.block(f"{PROG} {step.id}", step.summary):
            try:
                code = step.run(Args(values, tuple(command)), reporter)
            finally:
                if reporter.under_teamcity and "record" in values:
                    _publish_record(reporter, values["record"])
        return int(code or 0)
    except DeploytrailError as error:
        reporter.problem(str(error), identity=_identity(step))
        if reporter.under_teamcity:
            print(f"{PROG}: {_redacted(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        reporter.problem(f"{PROG} {step.id} was interrupted (Ctrl-C or SIGTERM); what it had "
                         "done so far is kept", identity=_identity(step))
        return Interrupted.exit_code
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)


def _remember_secrets(step: Step, values: Mapping[str, object]) -> None:
    """A password param's value is masked in all output, however it was given. Not its published
    default (the chat target ``console``), and not a URL: its client shows it in a form that
    hides just the token (``slack://T...0/B...0/X...X``), which whole-value masking would undo."""
    from deploytrail.redact import remember

    for param in step.params:
        value = values.get(param.name)
        if param.secret and value:
            public = set((param.default or "").split())
            for item in value if isinstance(value, list) else [value]:
                if str(item) not in public and "://" not in str(item):
                    remember(str(item))


def _publish_record(reporter: Reporter, path: object) -> None:
    """Under TeamCity the release record is a build artifact, as each step leaves it."""
    from deploytrail.record import record_path

    target = record_path(path if isinstance(path, str) else None)
    if target.exists():
        reporter.publish(f"{target} => deploytrail")


def _raise_interrupted(signum: int, frame: object) -> NoReturn:
    # KeyboardInterrupt, like Ctrl-C: no ``except Exception`` in a client can swallow it
    raise KeyboardInterrupt("stopped by SIGTERM")


def _redacted(text: str) -> str:
    from deploytrail.redact import redact

    return redact(text)


def _identity(step: Step) -> str:
    return ("deploytrail_" + "_".join(step.words)).replace("-", "_")[:60]


def _find_step(words: list[str]) -> tuple[Step | None, list[str]]:
    """The longest run of leading words naming a step, and the words after it."""
    for length in (2, 1):
        key = " ".join(words[:length])
        if len(words) >= length and key in STEPS:
            return STEPS[key], words[length:]
    return None, words


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def _top_parser() -> argparse.ArgumentParser:
    """``deploytrail [--help] [--version] COMMAND``: one parser, commands listed as text."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} [-h] [--version] COMMAND [OPTIONS]",
        description=_escape(_listing(DESCRIPTION, _commands())),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_escape(
            f"Run '{PROG} COMMAND --help' for a command's options. Every option can also be set\n"
            "through its environment variable DEPLOYTRAIL_<NAME>."
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("command", metavar="COMMAND", help="one of the commands above")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _commands() -> list[tuple[str, str]]:
    """``(command words, summary)`` rows: a group's members under the group's own line."""
    rows: list[tuple[str, str]] = []
    for step in STEPS.values():
        head = step.words[0]
        if len(step.words) > 1 and head in GROUPS and (head, GROUPS[head]) not in rows:
            rows.append((head, GROUPS[head]))
        rows.append((step.id if len(step.words) == 1 else "  " + step.id, step.summary))
    return rows


def _listing(description: str, rows: list[tuple[str, str]]) -> str:
    import textwrap

    width = max(len(words) for words, _ in rows) + 2
    lines = [textwrap.fill(description, 98), "", "commands:"]
    for words, summary in rows:
        wrapped = textwrap.wrap(summary, 96 - width) or [""]
        lines.append(f"  {words:<{width}}{wrapped[0]}")
        lines.extend(f"  {'':<{width}}{more}" for more in wrapped[1:])
    return "\n".join(lines)


def _step_parser(step: Step) -> argparse.ArgumentParser:
    description = _paragraphs(step.summary + (f"\n\n{step.details}" if step.details else ""))
    parser = argparse.ArgumentParser(
        prog=f"{PROG} {step.id}",
        description=_escape(description),
        formatter_class=_Formatter,
        argument_default=None,
    )
    for param in step.params:
        _add_param(parser, param)
    if step.takes_command:
        parser.usage = f"{PROG} {step.id} [OPTIONS] -- COMMAND [ARGS...]"
    return parser


def _paragraphs(text: str) -> str:
    """Wrap prose paragraphs to the help width; indented lines (examples) stay as written."""
    import textwrap

    blocks = []
    for block in text.split("\n\n"):
        if any(line.startswith(" ") for line in block.splitlines()):
            blocks.append(block)
        else:
            blocks.append(textwrap.fill(" ".join(block.split()), 98, break_on_hyphens=False))
    return "\n\n".join(blocks)


def _add_param(parser: argparse.ArgumentParser, param: Param) -> None:
    help_text = _escape(_help(param))
    if param.positional:
        parser.add_argument(param.name, nargs="?", help=help_text, metavar=param.name.upper())
    elif param.kind == "checkbox":
        parser.add_argument(param.option, dest=param.name, action="store_true", help=help_text)
    elif param.multiple:
        parser.add_argument(
            param.option, dest=param.name, action="append", help=help_text, metavar="VALUE"
        )
    else:
        metavar = "{" + ",".join(param.choices) + "}" if param.choices else "VALUE"
        parser.add_argument(param.option, dest=param.name, help=help_text, metavar=metavar)


def _help(param: Param) -> str:
    notes = []
    if param.required:
        notes.append("required")
    if param.default is not None:
        notes.append(f"default: {param.default}")
    notes.append(f"env: {param.env_var}")
    if param.secret:
        notes.append("secret: give it through the environment, not the command line")
    return f"{param.help} [{'; '.join(notes)}]"


def _escape(text: str) -> str:
    return text.replace("%", "%%")


def main_exit() -> None:
    """Console-script entry point: ``deploytrail``."""
    sys.exit(main())
