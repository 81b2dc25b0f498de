"""deploytrail release: the whole flow in one process, end to end on real git, Redis and fakes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytrail import record as records
from deploytrail.cli import main
from deploytrail.clients.ledger import Ledger
from deploytrail.paths import state_dir
from fakes.chat import FakeChat
from fakes.github import FakeGitHub
from fakes.gitrepo import GitRepo
from fakes.http import FakeAPI
from fakes.jira import FakeJira
from fakes.redis import RedisServer, free_port

JIRA_TOKEN = "pat-release-token-987"
GITHUB_TOKEN = "ghp_release_token_654"


@pytest.fixture
def repo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    git_repo.commit("PAY-1: first")
    git_repo.commit("PAY-2: second")
    monkeypatch.chdir(git_repo.path)
    return git_repo


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJira]:
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_RETRY_DELAYS", "0.01,0.01")
    with FakeJira(token=JIRA_TOKEN) as fake:
        yield fake


def _events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _release(*args: str, command: list[str]) -> int:
    return main(["release", "--service", "api", "--env", "production", *args, "--", *command])


def test_a_release_on_embedded_defaults_records_everything(
    repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.jsonl"
    marker = tmp_path / "deployed"
    code = _release("--events", f"file:{events}", "--build-number", "7",
                    command=[sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"])
    assert code == 0 and marker.exists()
    saved = records.load()
    assert saved.outcome == "success" and saved.revision == repo.head()
    assert saved.changelog_status == "first" and len(saved.commits) == 2
    assert saved.ticket_key and saved.ticket_key.startswith("LEDGER-")
    started, finished = _events(events)
    assert started["event"]["action"] == "deployment-started"  # type: ignore[index]
    assert finished["event"]["outcome"] == "success"  # type: ignore[index]
    assert started["labels"]["deployment_id"] == finished["labels"]["deployment_id"]  # type: ignore[index]
    (entry,) = Ledger().history(service="api")
    assert entry.deployment_id == saved.deployment_id
    assert "is live in production" in capsys.readouterr().out


def test_the_second_release_lists_only_the_new_commits(repo: GitRepo, tmp_path: Path) -> None:
    assert _release(command=["true"]) == 0
    first = repo.head()
    repo.commit("PAY-3: third")
    assert _release(command=["true"]) == 0
    saved = records.load()
    assert saved.previous_revision == first
    assert [c["summary"] for c in saved.commits] == ["PAY-3: third"]


def test_the_deploy_commands_output_is_streamed_untouched(repo: GitRepo) -> None:
    weird = "##teamcity[buildStop] |'[]% ünïcode"
    done = subprocess.run(
        [sys.executable, "-m", "deploytrail", "release", "--service", "api", "--env", "prod",
         "--", sys.executable, "-c", f"print({weird!r})"],
        capture_output=True, text=True, check=False, cwd=repo.path, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert f"\n{weird}\n" in f"\n{done.stdout}"


def test_a_failing_command_passes_its_exit_status_and_records_failure(
    repo: GitRepo, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    code = _release("--events", f"file:{events}",
                    command=[sys.executable, "-c", "raise SystemExit(7)"])
    assert code == 7
    assert records.load().outcome == "failure"
    assert _events(events)[-1]["event"]["outcome"] == "failure"  # type: ignore[index]
    (entry,) = Ledger().history(service="api")
    assert entry.outcome == "failure"


@pytest.mark.parametrize(("command", "said"), [
    (["/no/such/deploy.sh"], "does not exist"),
    (["./not-executable.sh"], "chmod +x ./not-executable.sh"),
    (["no-such-deploy-tool"], "not on PATH"),
])
def test_a_command_that_cannot_start_is_refused_before_anything_is_recorded(
    repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str],
    said: str,
) -> None:
    (repo.path / "not-executable.sh").write_text("#!/bin/sh\necho hi\n")
    events = tmp_path / "events.jsonl"
    assert _release("--events", f"file:{events}", command=command) == 2
    assert said in capsys.readouterr().err
    assert Ledger().history() == [] and not events.exists()  # no ticket, no marker


def test_a_malformed_events_url_is_refused_before_the_ticket(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _release("--events", "localhost:6379", command=["true"]) == 2
    assert "unknown scheme" in capsys.readouterr().err
    assert Ledger().history() == []


def test_a_command_whose_interpreter_is_missing_is_a_failed_deploy(
    repo: GitRepo, tmp_path: Path
) -> None:
    script = repo.path / "deploy.sh"
    script.write_text("#!/no/such/interpreter\necho hi\n")
    script.chmod(0o755)
    events = tmp_path / "events.jsonl"
    assert _release("--events", f"file:{events}", command=["./deploy.sh"]) == 127
    saved = records.load()
    assert saved.outcome == "failure"
    assert saved.outcome_reason and "could not start" in saved.outcome_reason
    assert _events(events)[-1]["event"]["outcome"] == "failure"  # type: ignore[index]
    (entry,) = Ledger().history(service="api")
    assert entry.outcome == "failure"


def test_no_command_is_bad_input(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["release", "--service", "api", "--env", "production"]) == 2
    assert "after '--'" in capsys.readouterr().err


def test_sigterm_is_passed_to_the_command_and_the_finish_marker_still_goes_out(
    repo: GitRepo, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    started = tmp_path / "started"
    got = tmp_path / "got-sigterm"
    script = (
        "import signal, sys, time, pathlib\n"
        f"def stop(*a):\n    pathlib.Path({str(got)!r}).write_text('y'); sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        f"pathlib.Path({str(started)!r}).write_text('y')\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploytrail", "release", "--service", "api", "--env", "prod",
         "--events", f"file:{events}", "--", sys.executable, "-c", script],
        cwd=repo.path, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert got.exists()
    finished = _events(events)[-1]
    assert finished["event"]["action"] == "deployment-finished"  # type: ignore[index]
    assert finished["event"]["outcome"] == "failure"  # type: ignore[index]
    assert records.load(Path(os.environ["DEPLOYTRAIL_RECORD"])).outcome_reason == "interrupted"


def test_ctrl_c_in_a_terminal_reaches_the_command_once(repo: GitRepo, tmp_path: Path) -> None:
    """The terminal sends Ctrl-C to the whole foreground group: passing it on again would be a
    second Ctrl-C, cutting the deploy command's own clean-up short."""
    pty = pytest.importorskip("pty")
    events, signals, ready = tmp_path / "events.jsonl", tmp_path / "signals", tmp_path / "ready"
    script = (  # takes each SIGINT as it comes, noting who sent it (0: the terminal)
        "import os, pathlib, signal, sys\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\n"
        f"pathlib.Path({str(ready)!r}).write_text('y')\n"
        "senders = [signal.sigwaitinfo({signal.SIGINT}).si_pid]\n"
        "while (more := signal.sigtimedwait({signal.SIGINT}, 0.5)) is not None:\n"
        "    senders.append(more.si_pid)\n"
        "who = {0: 'terminal', os.getppid(): 'deploytrail'}\n"
        f"pathlib.Path({str(signals)!r}).write_text(' '.join(who.get(p, str(p)) "
        "for p in senders))\n"
        "sys.exit(130)\n"
    )
    argv = [sys.executable, "-m", "deploytrail", "release", "--service", "api", "--env", "prod",
            "--events", f"file:{events}", "--", sys.executable, "-c", script]
    env = os.environ.copy()
    pid, terminal = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes deploytrail at once
        os.chdir(repo.path)
        os.execve(sys.executable, argv, env)
    output = b""
    deadline = time.monotonic() + 20
    try:
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.write(terminal, b"\x03")  # Ctrl-C, as typed
        while time.monotonic() < deadline:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the terminal closed: deploytrail is done
                break
            if not chunk:
                break
            output += chunk
    finally:
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:  # still running after the deadline
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 130, output.decode(errors="replace")
    assert signals.read_text() == "terminal"
    finished = _events(events)[-1]
    assert finished["event"]["outcome"] == "failure"  # type: ignore[index]
    assert b"interrupted" in output


def test_jira_down_refuses_to_deploy(repo: GitRepo, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_RETRY_DELAYS", "0.01")
    marker = tmp_path / "deployed"
    code = _release("--tickets", f"jira+http://127.0.0.1:{free_port()}/CHG",
                    command=[sys.executable, "-c", f"open({str(marker)!r}, 'w')"])
    assert code == 1
    assert not marker.exists()


def test_jira_down_deploys_anyway_when_allowed(repo: GitRepo, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_RETRY_DELAYS", "0.01")
    code = _release("--tickets", f"jira+http://127.0.0.1:{free_port()}/CHG",
                    "--allow-without-ticket", command=["true"])
    assert code == 0
    assert "without a change ticket" in capsys.readouterr().err


def test_redis_down_deploys_spools_and_flushes_next_time(
    repo: GitRepo, own_redis: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"redis://127.0.0.1:{own_redis.port}/0?key=deploys"
    own_redis.stop()
    assert _release("--events", url, command=["true"]) == 0
    assert "warning" in capsys.readouterr().err
    own_redis.start()
    repo.commit("PAY-9: after the outage")
    assert _release("--events", url, command=["true"]) == 0
    stored = [json.loads(x) for x in own_redis.client().lrange("deploys", 0, -1)]
    assert [e["event"]["action"] for e in stored] == [
        "deployment-started", "deployment-finished", "deployment-started", "deployment-finished"]
    assert len({e["event"]["id"] for e in stored}) == 4


def test_a_full_release_against_github_jira_redis_and_chat_leaks_no_token(
    repo: GitRepo, jira: FakeJira, redis_db: RedisServer, fake_api: FakeAPI,
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    github = FakeGitHub(fake_api, token=GITHUB_TOKEN)
    monkeypatch.setenv("DEPLOYTRAIL_GITHUB_TOKEN", GITHUB_TOKEN)
    first = repo.head()
    repo.commit("PAY-3: third")
    repo.commit("PAY-4: fourth")
    github.load_git("acme/api", repo.path)
    with FakeChat() as chat:
        code = _release(
            "--previous", f"sha:{first}", "--source", "github:acme/api",
            "--github-url", github.url, "--tickets", f"jira+{jira.url}/CHG",
            "--events", redis_db.url + "?key=deploytrail",
            "--chat", chat.webhook_url("hooksecret77"),
            "--version", "1.4.2", command=["true"])
        posts = chat.posts()
    assert code == 0
    (ticket,) = jira.created()
    assert ticket["summary"] == "Release api 1.4.2 to production (2 commits)"
    assert any("success" in body["body"] for body in jira.comments["CHG-1"])
    assert redis_db.client().llen("deploytrail") == 2
    assert len(posts) == 1 and "1.4.2" in str(posts[0])
    out = capfd.readouterr()
    written = [p.read_text(errors="replace") for p in tmp_path.rglob("*")
               if p.is_file() and p.suffix in {".json", ".jsonl", ".md", ".toml", ".txt"}]
    for secret in (JIRA_TOKEN, GITHUB_TOKEN, "hooksecret77"):
        assert secret not in out.out + out.err
        assert all(secret not in text for text in written)
    assert state_dir().exists()


def test_sigterm_before_the_deploy_starts_stops_cleanly_and_deploys_nothing(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while the ticket is being filed (JIRA retrying): exit 130 with a message."""
    import socket

    listener = socket.socket()  # accepts, never answers: the JIRA client waits
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    marker = tmp_path / "deployed"
    env = {**os.environ, "DEPLOYTRAIL_JIRA_TOKEN": JIRA_TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploytrail", "release", "--service", "api", "--env", "prod",
         "--tickets", f"jira+http://127.0.0.1:{listener.getsockname()[1]}/CHG", "--",
         sys.executable, "-c", f"open({str(marker)!r}, 'w')"],
        cwd=repo.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        conn, _ = listener.accept()  # the ticket step has started
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        conn.close()
    finally:
        listener.close()
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"interrupted" in err
    assert not marker.exists()


def test_release_with_nothing_but_the_command_works_in_any_checkout(
    make_git_repo: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``deploytrail release -- ./deploy.sh``: service from the checkout, env production."""
    repo = make_git_repo(3)  # type: ignore[operator]
    monkeypatch.chdir(repo.path)
    assert main(["release", "--", "true"]) == 0
    saved = records.load()
    assert (saved.service, saved.environment) == (repo.path.name, "production")
    assert saved.version and saved.revision and saved.revision.startswith(saved.version)
    assert len(saved.commits) == 3
    assert "is live in production" in capsys.readouterr().out
