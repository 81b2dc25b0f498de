"""The command line: help, version, exit codes, python -m parity, fast start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deploytrail import __version__, errors
from deploytrail.cli import main
from deploytrail.steps import STEPS


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deploytrail", *args], capture_output=True,
                          text=True, check=False)


def test_help_lists_every_step_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for step in STEPS.values():
        assert step.words[0] in out


def test_step_help_shows_each_option_default_and_environment_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["metarunners", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--out" in out and "DEPLOYTRAIL_OUT" in out and "teamcity_meta_runners" in out


def test_version_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_bad_input() -> None:
    assert main(["no-such-step"]) == 2


def test_no_command_is_bad_input() -> None:
    assert main([]) == 2


def test_python_dash_m_prints_the_same_help_as_the_console_script() -> None:
    module = run_module("--help")
    script = subprocess.run([sys.executable, "-c", "import sys; from deploytrail.cli import "
                             "main_exit; sys.argv[0] = 'deploytrail'; main_exit()", "--help"],
                            capture_output=True, text=True, check=False)
    assert module.returncode == script.returncode == 0
    assert module.stdout == script.stdout


def test_python_dash_m_gives_the_same_exit_code_for_bad_input() -> None:
    assert run_module("no-such-step").returncode == 2
    assert run_module("metarunners", "--no-such-option").returncode == 2


def test_help_imports_no_heavy_library() -> None:
    heavy = ["github", "jira", "redis", "apprise", "errbot", "requests", "lxml", "jinja2",
             "logstash"]
    code = (
        "import sys, io, contextlib\n"
        "from deploytrail.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout.strip().replace("'", '"')) == []


def test_each_step_help_imports_no_heavy_library() -> None:
    heavy = ["github", "jira", "redis", "apprise", "errbot"]
    code = (
        "import sys, io, contextlib\n"
        "from deploytrail.cli import main\n"
        "from deploytrail.steps import STEPS\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    for step in STEPS.values():\n"
        "        main([*step.words, '--help'])\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout.strip().replace("'", '"')) == []


def test_missing_required_params_are_all_reported_at_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from deploytrail.params import Param, resolve

    params = [Param("service", "s", required=True), Param("env", "e", required=True),
              Param("format", "f", choices=("text", "json"))]
    _, problems = resolve(params, {"format": "yaml"}, environ={})
    assert len(problems) == 3
    assert any("--service" in p and "DEPLOYTRAIL_SERVICE" in p for p in problems)
    assert any("'yaml' is not one of text, json" in p for p in problems)


def _modules_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                           "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)"],
                          capture_output=True, text=True, check=True)
    return set(done.stderr.split())


def test_help_imports_only_what_a_bare_argparse_program_imports_plus_deploytrail() -> None:
    """Keeps ``deploytrail --help`` within reach of a bare argparse program's start-up."""
    baseline = _modules_after(
        "import io, contextlib, argparse\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    argparse.ArgumentParser(prog='x').print_help()"
    )
    ours = _modules_after(
        "import io, contextlib\n"
        "from deploytrail.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])"
    )
    extra = {m for m in ours - baseline if not m.startswith("deploytrail")}
    assert extra <= {"__future__", "signal", "_signal", "textwrap"}, sorted(extra)


@pytest.mark.parametrize("teamcity", [False, True])
def test_a_secret_given_on_the_command_line_is_masked_in_everything_printed(
    teamcity: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploytrail.errors import ServiceError
    from deploytrail.params import Args, Param
    from deploytrail.step import Step

    def run(args: Args, report: object) -> int:
        header = args.text("header") or ""
        report.info(f"sending {header} and {args.text('key')} to {args.many('chat')}")  # type: ignore[attr-defined]
        raise ServiceError("svc", f"rejected key {args.text('key')}; token {header.split()[-1]}")

    step = Step(words=("secret-test",), summary="t", run=run, metarunner=False, params=(
        Param("key", "k", kind="password"), Param("header", "h", kind="password"),
        Param("chat", "c", kind="password", multiple=True, default="console")))
    monkeypatch.setitem(STEPS, step.id, step)
    if teamcity:
        monkeypatch.setenv("TEAMCITY_VERSION", "2025.03")
    monkeypatch.setenv("DEPLOYTRAIL_HEADER", "Authorization: Bearer hdrT0ken9876")
    code = main(["secret-test", "--key", f"cliKey{teamcity}42"])
    captured = capsys.readouterr()
    assert code == 3
    printed = captured.out + captured.err
    assert f"cliKey{teamcity}42" not in printed and "hdrT0ken9876" not in printed
    assert "rejected key ***" in printed and "console" in printed


ERRORS: list[tuple[BaseException | None, int]] = [
    (errors.InputError("bad"), 2), (errors.StepFailed("no"), 1),
    (errors.ServiceError("jira", "down"), 3), (errors.ServiceUnavailable("redis", "gone"), 3),
    (errors.Interrupted("stop"), 130), (KeyboardInterrupt(), 130), (None, 0),
]


@pytest.mark.parametrize(("error", "code"), ERRORS)
def test_cli_main_maps_each_error_to_its_exit_code(
    error: BaseException | None, code: int, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deploytrail.params import Args
    from deploytrail.step import Step

    def run(args: Args, report: object) -> int | None:
        if error is not None:
            raise error
        return None

    monkeypatch.setitem(STEPS, "exit-test", Step(words=("exit-test",), summary="t", params=(),
                                                 run=run, metarunner=False))
    assert main(["exit-test"]) == code
    assert "Traceback" not in capsys.readouterr().err


def test_sigterm_stops_a_step_with_exit_130_and_a_clear_message(tmp_path: Path) -> None:
    import signal
    import time

    started = tmp_path / "started"
    code = (
        "import sys, time, pathlib\n"
        "from deploytrail.cli import main\n"
        "from deploytrail.step import Step\n"
        "from deploytrail.steps import STEPS\n"
        "def run(args, report):\n"
        f"    pathlib.Path({str(started)!r}).write_text('y')\n"
        "    time.sleep(30)\n"
        "STEPS['slow'] = Step(words=('slow',), summary='s', params=(), run=run,\n"
        "                     metarunner=False)\n"
        "sys.exit(main(['slow']))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "interrupted (Ctrl-C or SIGTERM)" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["--help"], ["history"]])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, args: list[str]) -> None:
    """``deploytrail history | head -1``: no traceback when the reader stops early."""
    import os

    env = {**os.environ, "DEPLOYTRAIL_HOME": str(tmp_path)}
    code = ("import subprocess, sys\n"
            f"p = subprocess.Popen([sys.executable, '-m', 'deploytrail', *{args!r}],"
            " stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
            "p.stdout.close()  # before the command writes: its first write meets a closed pipe\n"
            "err = p.stderr.read().decode()\n"
            "print(p.wait(), repr(err))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True)
    assert "Traceback" not in done.stdout and "BrokenPipe" not in done.stdout, done.stdout
