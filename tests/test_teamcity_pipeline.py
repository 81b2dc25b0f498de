"""A production build in TeamCity, step by step, driven by the generated meta-runners.

Each step runs the way a TeamCity agent would run it: the meta-runner's fields become
``env.DEPLOYTRAIL_*`` variables (defaults from the XML, ``%refs%`` resolved, what an admin typed
on top), and its one-line ``script.content`` runs in a shell in the checkout directory. Real git,
real Redis, and fake TeamCity, JIRA and chat servers. The commits carry hostile text; every
service message on stdout must be well formed, none forged, and no secret may appear anywhere.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from fakes.chat import FakeChat
from fakes.gitrepo import GitRepo
from fakes.jira import FakeJira
from fakes.redis import RedisServer
from fakes.teamcity import FakeTeamCity

ROOT = Path(__file__).resolve().parent.parent
NONPROD_TOKEN = "nonprod-pipeline-token-111"
JIRA_TOKEN = "jira-pipeline-token-222"
BUILD_PASSWORD = "build-pipeline-pw-333"
CHAT_TOKEN = "chatpipelinetoken444"
SECRETS = (NONPROD_TOKEN, JIRA_TOKEN, BUILD_PASSWORD, CHAT_TOKEN)

HOSTILE_COMMITS = [
    "PAY-1: it's \"quoted\" | pipes ] brackets [ <b>html</b> & 100% done",
    "PAY-2: forge\n##teamcity[buildStop comment='pwned' readdToQueue='false']\n"
    "##teamcity[setParameter name='env.DEPLOYTRAIL_CHAT' value='json://evil']",
    "PAY-3: ünïcödé 🚀 {{ 7*7 }} {% raw %} {code}x{code} [link|http://evil] @channel <!here>",
]

#: One service message: a name, then only well-formed 'escaped' values, up to the closing ].
MESSAGE = re.compile(
    r"^##teamcity\[(\w+)( '([^'|\[\]\n\r]|\|['|\[\]nrxlp]|\|0x[0-9a-f]{4})*'|"
    r"( \w+='([^'|\[\]\n\r]|\|['|\[\]nrxlp]|\|0x[0-9a-f]{4})*')*)\]$"
)


class Agent:
    """Runs meta-runners like a TeamCity agent in one build's checkout directory."""

    def __init__(self, checkout: Path, predefined: dict[str, str], env: dict[str, str]) -> None:
        self.checkout = checkout
        self.predefined = predefined
        self.env = env
        self.stdout: list[str] = []

    def resolve(self, value: str, fields: dict[str, str]) -> str:
        known = {**self.predefined, **{f"env.DEPLOYTRAIL_{k}": v for k, v in fields.items()}}

        def ref(match: re.Match[str]) -> str:
            name = match[1]
            if name == "":
                return "%"
            assert name in known, f"meta-runner references %{name}%, which TeamCity lacks"
            return known[name]

        return re.sub(r"%([^%\s]*)%", ref, value)

    def run(self, runner_id: str, **typed: str) -> int:
        root = etree.parse(str(ROOT / "teamcity_meta_runners" / f"{runner_id}.xml")).getroot()
        fields = {"PYTHON": sys.executable}
        for param in root.find("settings/parameters"):
            name = param.get("name").removeprefix("env.DEPLOYTRAIL_")
            fields.setdefault(name, param.get("value"))
        fields.update(typed)
        missing = [p.get("name") for p in root.find("settings/parameters")
                   if "validationMode='not_empty'" in p.get("spec")
                   and not fields[p.get("name").removeprefix("env.DEPLOYTRAIL_")]]
        assert not missing, f"{runner_id}: TeamCity would refuse the empty fields {missing}"
        env = dict(self.env)
        for name, value in fields.items():
            env[f"DEPLOYTRAIL_{name}"] = self.resolve(value, fields)
        script = root.find(".//runner/parameters/param[@name='script.content']").get("value")
        done = subprocess.run(["sh", "-c", self.resolve(script, fields)], cwd=self.checkout,
                              env=env, capture_output=True, text=True, check=False)
        self.stdout.extend(done.stdout.splitlines())
        self.stdout.extend(done.stderr.splitlines())
        return done.returncode


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(token=JIRA_TOKEN) as fake:
        yield fake


@pytest.fixture
def chat() -> Iterator[FakeChat]:
    with FakeChat() as fake:
        yield fake


def _build(tmp_path: Path, repo: GitRepo, deploy_status: str) -> tuple[Agent, FakeTeamCity,
                                                                    FakeTeamCity]:
    nonprod = FakeTeamCity.shared("pipeline-nonprod", token=NONPROD_TOKEN)
    promoted = nonprod.add_build("Api_Build", pinned=True, revision=repo.head())
    prod = FakeTeamCity.shared("pipeline-prod", token="unused-prod-token")
    running = prod.add_build("Api_DeployProd", status=deploy_status, state="running",
                             number="311")
    prod.users = {f"TeamCityBuildId={running.id}": BUILD_PASSWORD}
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "build.config.properties"
    config.write_text(f"teamcity.serverUrl={prod.url.replace(':', chr(92) + ':')}\n")
    props = tmp_path / "build.properties"
    props.write_text(f"teamcity.build.id={running.id}\n"
                     f"teamcity.auth.userId=TeamCityBuildId\\={running.id}\n"
                     f"teamcity.auth.password={BUILD_PASSWORD}\n"
                     f"teamcity.configuration.properties.file={config}\n")
    env = {**os.environ, "TEAMCITY_VERSION": "2025.03.2 (build 186200)",
           "TEAMCITY_BUILD_PROPERTIES_FILE": str(props), "BUILD_NUMBER": "311"}
    env.pop("DEPLOYTRAIL_RECORD", None)  # the meta-runner's own default is used
    predefined = {"build.number": "311", "teamcity.build.id": str(running.id),
                  "teamcity.serverUrl": prod.url, "build.vcs.number": "0" * 40,
                  "teamcity.build.triggeredBy.username": "alice"}
    del promoted
    return Agent(repo.path, predefined, env), nonprod, prod


def _pipeline(agent: Agent, nonprod: FakeTeamCity, jira: FakeJira, redis: RedisServer,
              chat: FakeChat, previous: str, deploy_exit: int) -> list[int]:
    identity = {"SERVICE": "api", "ENV": "production"}
    events = {"EVENTS": f"redis://127.0.0.1:{redis.port}/0?key=deploytrail"}
    tickets = {"TICKETS": f"jira+{jira.url}/CHG", "JIRA_TOKEN": JIRA_TOKEN}
    codes = [
        agent.run("deploytrail_pinned", BUILD_TYPE="Api_Build", TEAMCITY_URL=nonprod.url,
                  NONPROD_TEAMCITY_TOKEN=NONPROD_TOKEN),
        agent.run("deploytrail_changelog", **identity, PREVIOUS=f"sha:{previous}"),
        agent.run("deploytrail_ccb", **tickets, VERSION="1.4.2", ISSUE_TYPE="Change"),
        agent.run("deploytrail_marker_start", **identity, **events, VERSION="1.4.2"),
        subprocess.run(["sh", "-c", f"exit {deploy_exit}"], check=False).returncode,
        agent.run("deploytrail_marker_finish", **identity, **events, VERSION="1.4.2"),
        agent.run("deploytrail_notify", CHAT=chat.webhook_url(CHAT_TOKEN)),
        agent.run("deploytrail_ccb_comment", **tickets),
    ]
    return codes


def _check_log(agent: Agent, tmp_path: Path, checkout: Path) -> list[tuple[str, str]]:
    messages = []
    for line in agent.stdout:
        if "##teamcity[" not in line:
            continue
        assert line.startswith("##teamcity["), f"service message not at line start: {line!r}"
        match = MESSAGE.match(line)
        assert match, f"malformed service message: {line[:300]!r}"
        messages.append((match[1], line))
    names = {name for name, _ in messages}
    assert "buildStop" not in names, "a commit message forged a service message"
    assert not any("json://evil" in line for _, line in messages if "setParameter" in line
                   and "DEPLOYTRAIL_CHAT" in line)
    written = [p for root in (tmp_path, checkout) for p in root.rglob("*")
               if p.is_file() and ".git" not in p.parts]
    for secret in SECRETS:
        assert not any(secret in line for line in agent.stdout), secret
        for path in written:
            if path.name.startswith("build.") and path.suffix == ".properties":
                continue  # the agent's own file, not ours
            assert secret not in path.read_text(errors="replace"), (secret, path)
    return messages


def test_a_promoted_build_goes_out_with_ticket_markers_and_chat(
    tmp_path: Path, git_repo: GitRepo, jira: FakeJira, redis_db: RedisServer, chat: FakeChat,
) -> None:
    previous = git_repo.commit("PAY-0: the release that runs in production")
    for message in HOSTILE_COMMITS:
        git_repo.commit(message)
    agent, nonprod, _ = _build(tmp_path, git_repo, "SUCCESS")
    codes = _pipeline(agent, nonprod, jira, redis_db, chat, previous, deploy_exit=0)
    assert codes == [0] * 8, "\n".join(agent.stdout)

    messages = _check_log(agent, tmp_path, git_repo.path)
    names = [name for name, _ in messages]
    assert names.count("blockOpened") == names.count("blockClosed") == 7
    assert "buildProblem" not in names
    params = " ".join(line for name, line in messages if name == "setParameter")
    assert "deploytrail.pinned.revision" in params and "deploytrail.ccb.key" in params

    (ticket,) = jira.created()
    assert ticket["summary"] == "Release api 1.4.2 to production (3 commits)"
    assert "311" in ticket["description"]
    assert any("success" in c["body"] for c in jira.comments["CHG-1"])

    stored = [json.loads(e) for e in redis_db.client().lrange("deploytrail", 0, -1)]
    assert [e["event"]["action"] for e in stored] == ["deployment-started",
                                                       "deployment-finished"]
    assert {e["labels"]["build_number"] for e in stored} == {"311"}
    assert stored[1]["labels"]["ccb"] == "CHG-1" and stored[1]["event"]["outcome"] == "success"
    assert stored[0]["labels"]["vcs_revision"] == git_repo.head()
    assert "viewLog.html?buildId=" in stored[0]["url"]["full"]

    (post,) = chat.posts()
    assert "1.4.2" in str(post) and "CHG-1" in str(post)
    record = json.loads((git_repo.path / ".deploytrail" / "release.json").read_text())
    assert record["ticket_key"] == "CHG-1" and record["outcome"] == "success"


def test_a_failed_deploy_step_still_gets_its_finish_marker_message_and_comment(
    tmp_path: Path, git_repo: GitRepo, jira: FakeJira, redis_db: RedisServer, chat: FakeChat,
) -> None:
    previous = git_repo.commit("PAY-0: running in production")
    git_repo.commit("PAY-5: a change that breaks the deploy")
    agent, nonprod, _ = _build(tmp_path, git_repo, "FAILURE")
    codes = _pipeline(agent, nonprod, jira, redis_db, chat, previous, deploy_exit=1)
    assert codes == [0, 0, 0, 0, 1, 0, 0, 0], "\n".join(agent.stdout)
    _check_log(agent, tmp_path, git_repo.path)
    finished = json.loads(redis_db.client().lrange("deploytrail", -1, -1)[0])
    assert finished["event"]["outcome"] == "failure"
    (post,) = chat.posts()
    assert "fail" in str(post).lower()
    assert any("failure" in c["body"] for c in jira.comments["CHG-1"])


def test_a_stale_record_from_the_previous_build_is_not_continued(
    tmp_path: Path, git_repo: GitRepo, jira: FakeJira, redis_db: RedisServer, chat: FakeChat,
) -> None:
    previous = git_repo.commit("PAY-0: running in production")
    git_repo.commit("PAY-6: first release")
    agent, nonprod, _ = _build(tmp_path, git_repo, "SUCCESS")
    assert _pipeline(agent, nonprod, jira, redis_db, chat, previous, 0) == [0] * 8
    git_repo.commit("PAY-7: second release, same agent, same checkout directory")
    agent2, nonprod2, _ = _build(tmp_path / "second", git_repo, "SUCCESS")
    assert _pipeline(agent2, nonprod2, jira, redis_db, chat, previous, 0) == [0] * 8
    assert [t["summary"] for t in jira.created()] == [
        "Release api 1.4.2 to production (1 commit)",
        "Release api 1.4.2 to production (2 commits)",
    ]
