"""``make demo``: two releases of a throwaway service on embedded defaults, no servers needed.

1. make a small git repository with a realistic history (features, fixes, a merge);
2. release 1.0.0 with ``deploytrail release`` (the first release: newest commits, said so);
3. add commits, then release 1.1.0: the changelog lists exactly the new commits, the ledger files
   the change ticket, markers go to a JSON-lines file, console chat prints the message;
4. show ``deploytrail history``, the events written, and where the generated files are.

If REDIS_URL is set, the markers also go to that Redis.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "demo" / "work"
REPO = WORK / "payments-api"
STATE = WORK / "state"
EVENTS = WORK / "events.jsonl"
WEBROOT = WORK / "www"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Alice Example", "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice Example", "GIT_COMMITTER_EMAIL": "alice@example.com",
    # the throwaway history must not depend on the user's git setup (signing, hooks, editor)
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


FLOW = """\
'deploytrail release' runs, in this order: the changelog (commits since the last release) →
the change ticket (here in the local ledger: LEDGER-n) → the start marker (an event in a
JSON-lines file) → YOUR deploy command (demo/deploy.sh; its output is shown as it is) → the
finish marker (outcome, duration) → the outcome on the ticket → the chat message (here printed:
console chat) → the ledger row. It exits with the deploy command's status. Lines starting with
two spaces are deploytrail's progress; no server is needed.
"""


def banner(text: str) -> None:
    print(f"\n\033[1m=== {text} ===\033[0m" if sys.stdout.isatty() else f"\n=== {text} ===",
          flush=True)


def git(*args: str, author: str | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    if author:
        name, email = author.split(" <")
        env.update(GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email.rstrip(">"))
    done = subprocess.run(["git", *args], cwd=REPO, env=env, check=True, capture_output=True,
                          text=True)
    return done.stdout.strip()


def commit(path: str, text: str, message: str, author: str | None = None) -> None:
    target = REPO / path
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(text + "\n")
    git("add", "-A")
    git("commit", "-q", "-m", message, author=author)


def deploytrail(*args: str, env: dict[str, str] | None = None) -> int:
    from deploytrail.redact import mask_url

    shown = " ".join(repr(a) if " " in a else mask_url(a) if "://" in a else a for a in args)
    print(f"$ deploytrail {shown}", flush=True)
    done = subprocess.run([sys.executable, "-m", "deploytrail", *args], cwd=REPO,
                          env={**os.environ, **(env or {})}, check=False)
    return done.returncode


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    REPO.mkdir(parents=True)
    os.environ.update(DEPLOYTRAIL_HOME=str(STATE), DEPLOYTRAIL_RECORD=str(WORK / "release.json"),
                      DEMO_WEBROOT=str(WEBROOT), DEMO_REPO=str(REPO), PYTHON=sys.executable)
    events = [f"file:{EVENTS}"]
    if os.environ.get("REDIS_URL"):
        events.append(os.environ["REDIS_URL"])
    event_args = [arg for url in events for arg in ("--events", url)]
    deploy = ["sh", str(ROOT / "demo" / "deploy.sh")]

    banner("1. A small service with some history")
    git("init", "-q", "-b", "main")
    commit("app.py", "print('payments')", "Initial payments service")
    commit("app.py", "# card validation", "PAY-101: validate card numbers before charging",
           "Bob Builder <bob@example.com>")
    commit("README.md", "payments-api", "Add README")
    commit("app.py", "# retries", "PAY-107: retry the bank API on 503",
           "Carol Coder <carol@example.com>")
    git("tag", "1.0.0")
    print(git("log", "--oneline", "--decorate"))

    banner("2. First release: 1.0.0 (nothing in the ledger yet)")
    print(FLOW)
    code = deploytrail("release", "--service", "payments-api", "--env", "production",
                       "--build-number", "41", *event_args, "--",
                       *deploy, env={"DEMO_VERSION": "1.0.0", "DEMO_BUILD": "41"})
    if code != 0:
        return code

    banner("3. The team keeps shipping")
    git("checkout", "-q", "-b", "feature/refunds")
    commit("refunds.py", "def refund(): ...", "PAY-142: partial refunds",
           "Dana Dev <dana@example.com>")
    commit("refunds.py", "# audit", "PAY-142: write refunds to the audit log",
           "Dana Dev <dana@example.com>")
    git("checkout", "-q", "main")
    commit("app.py", "# timeout", "Fix: 'charge' timed out after 5s | raise to 15s",
           "Bob Builder <bob@example.com>")
    git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature/refunds'", "feature/refunds")
    git("tag", "1.1.0")
    print(git("log", "--oneline", "1.0.0..1.1.0"))

    banner("4. Second release: 1.1.0 with a real deploy command")
    code = deploytrail("release", "--service", "payments-api", "--env", "production",
                       "--build-number", "42", *event_args, "--",
                       *deploy, env={"DEMO_VERSION": "1.1.0", "DEMO_BUILD": "42"})
    if code != 0:
        return code

    banner("5. What was recorded")
    deploytrail("history", "--service", "payments-api")
    print(f"\nThe service now reports (deployment-info): "
          f"{(WEBROOT / 'deployment-info.json').read_text().strip()}")
    print(f"\nDeploy events ({EVENTS}), ready for Logstash → Elasticsearch → Kibana:")
    for line in EVENTS.read_text().splitlines():
        event = json.loads(line)
        print(f"  {event['@timestamp']}  {event['event']['action']:<20} "
              f"{event['service']['version']:<6} {event['event'].get('outcome', '')}")
    if len(events) > 1:  # REDIS_URL
        from urllib.parse import parse_qs, urlsplit

        from deploytrail.clients.sinks import DEFAULT_KEY, public_url

        key = parse_qs(urlsplit(events[1]).query).get("key", [DEFAULT_KEY])[0]
        print(f"The same events went to {public_url(events[1])}, list {key!r} "
              f"(redis-cli LRANGE {key} 0 -1).")

    banner("6. The same steps for TeamCity, and the Kibana side")
    generated = WORK / "generated"
    deploytrail("metarunners", "--out", str(generated / "teamcity_meta_runners"))
    deploytrail("kibana", "--markers", str(ROOT / "kibana_markers" / "markers.toml"),
                "--out", str(generated / "kibana_markers"))
    print("\nThe committed copies (identical; CI checks they stay so):")
    print(f"  TeamCity meta-runners to upload: {ROOT / 'teamcity_meta_runners'}")
    print(f"  Kibana saved objects to import:  {ROOT / 'kibana_markers' / 'deploytrail.ndjson'}")
    print(f"  Logstash pipeline, ES template:  {ROOT / 'kibana_markers'}")
    print(f"  Every command and option:        {ROOT / 'docs' / 'steps.md'}")
    print(f"\nThis demo's state (ledger, spool, record): {STATE}, {WORK / 'release.json'}")
    print("Next: 'deploytrail doctor' checks a real setup; README.md shows the TeamCity steps.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
