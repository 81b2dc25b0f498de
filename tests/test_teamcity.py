"""Service messages: everything escaped, so commit text can never forge a message."""

from __future__ import annotations

import io
import re

import pytest

from deploytrail.teamcity import PlainReporter, TeamCityReporter, escape

HOSTILE = [
    "it's",
    "##teamcity[buildStop comment='x']",
    "a|b",
    "x']",
    "<script>&amp;</script>",
    "100%",
    "line1\nline2\r\n",
    "Zoë 🚀 \u2028 \u0085",
    "q" * 10_000,
]

#: One service message: name, then only well-formed 'escaped' values up to the closing bracket.
MESSAGE = re.compile(
    r"^##teamcity\[\w+( \w+='([^'|\[\]\n\r]|\|['|\[\]nrxlp]|\|0x[0-9a-f]{4})*')*\]$"
)


class _Stdout(io.TextIOWrapper):
    """Like sys.stdout: text with a binary buffer underneath (the library writes bytes)."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8")

    def getvalue(self) -> str:
        self.flush()
        raw = self.buffer.getvalue()  # type: ignore[attr-defined]
        return str(raw.decode("utf-8"))


def _messages(text: str) -> list[str]:
    return [line for line in text.split("\n") if line]


@pytest.mark.parametrize("value", HOSTILE)
def test_every_hostile_value_stays_inside_one_well_formed_message(value: str) -> None:
    out = _Stdout()
    reporter = TeamCityReporter(out=out)
    reporter.info(value)
    reporter.set_parameter("env.X", value)
    reporter.warning(value)
    reporter.problem(value)
    lines = _messages(out.getvalue())
    assert len(lines) == 4
    for line in lines:
        assert MESSAGE.match(line), line[:200]


#: A single-value message: ``##teamcity[name 'value']``.
SINGLE = re.compile(r"^##teamcity\[\w+ '([^'|\[\]\n\r]|\|['|\[\]nrxlp]|\|0x[0-9a-f]{4})*'\]$")


@pytest.mark.parametrize("value", HOSTILE)
def test_every_reporter_method_keeps_a_hostile_value_inside_its_message(value: str) -> None:
    out = _Stdout()
    reporter = TeamCityReporter(out=out)
    with reporter.block(value, value):
        reporter.progress(value)
        reporter.status(value)
        reporter.publish(value)
        reporter.tag(value)
        reporter.problem(value, identity="deploytrail_x")
    lines = _messages(out.getvalue())
    assert len(lines) == 7
    for line in lines:
        assert MESSAGE.match(line) or SINGLE.match(line), line[:200]


def test_escape_follows_the_teamcity_rules() -> None:
    assert escape("a'b|c[d]e\nf\rg") == "a|'b||c|[d|]e|nf|rg"
    assert escape("ë") == "|0x00eb"
    assert escape("\u2028") == "|l"
    assert escape("🚀") == "|0xd83d|0xde80"


def test_blocks_open_and_close_even_when_the_step_fails() -> None:
    out = _Stdout()
    reporter = TeamCityReporter(out=out)
    with pytest.raises(RuntimeError), reporter.block("deploytrail x", "summary"):
        raise RuntimeError("boom")
    lines = _messages(out.getvalue())
    assert lines[0].startswith("##teamcity[blockOpened")
    assert lines[-1].startswith("##teamcity[blockClosed")


def test_a_tag_is_a_single_value_message() -> None:
    out = _Stdout()
    TeamCityReporter(out=out).tag("deploytrail-promoted")
    assert out.getvalue().strip() == "##teamcity[addBuildTag 'deploytrail-promoted']"


def test_secrets_in_the_environment_never_reach_a_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOYTRAIL_JIRA_TOKEN", "s3cr3t-token-value")
    out = _Stdout()
    TeamCityReporter(out=out).info("failed with s3cr3t-token-value in the URL")
    assert "s3cr3t" not in out.getvalue()


def test_plain_reporter_writes_readable_text() -> None:
    err, out = io.StringIO(), io.StringIO()
    reporter = PlainReporter(err=err, out=out)
    reporter.warning("redis is down")
    reporter.info("12 commits")
    assert "warning: redis is down" in err.getvalue()
    assert out.getvalue() == "12 commits\n"
    assert "##teamcity" not in err.getvalue() + out.getvalue()


def test_a_percent_in_a_parameter_value_cannot_become_a_reference() -> None:
    out = _Stdout()
    TeamCityReporter(out=out).set_parameter("deploytrail.pinned.artifacts_url",
                                            "https://tc/a%20b%2520%env.SECRET%")
    assert "value='https://tc/a%%20b%%2520%%env.SECRET%%'" in out.getvalue()


def test_json_results_stay_json_and_cannot_forge_a_message() -> None:
    import json

    out = _Stdout()
    data = {"commits": [{"message": "x ##teamcity[buildStop comment='pwned'] #1 ü"}]}
    TeamCityReporter(out=out).json(data)
    (line,) = _messages(out.getvalue())
    assert "##teamcity" not in line and "#" not in line
    assert json.loads(line) == data
