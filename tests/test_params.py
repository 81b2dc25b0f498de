"""Params: command line first, then DEPLOYTRAIL_<NAME>, then the default."""

from __future__ import annotations

from deploytrail.params import Param, resolve


def test_option_wins_over_environment_and_default() -> None:
    p = Param("service", "s", default="d")
    values, _ = resolve([p], {"service": "cli"}, environ={"DEPLOYTRAIL_SERVICE": "env"})
    assert values["service"] == "cli"


def test_environment_is_read_when_the_option_is_not_given() -> None:
    p = Param("build_number", "n", default="d")
    values, _ = resolve([p], {}, environ={"DEPLOYTRAIL_BUILD_NUMBER": "311"})
    assert values["build_number"] == "311"


def test_empty_environment_value_falls_back_to_the_default() -> None:
    """TeamCity passes an empty meta-runner field as an empty variable."""
    p = Param("python", "p", default="python3")
    values, _ = resolve([p], {}, environ={"DEPLOYTRAIL_PYTHON": ""})
    assert values["python"] == "python3"


def test_checkbox_reads_true_and_false_from_the_environment() -> None:
    p = Param("dry_run", "d", kind="checkbox")
    assert resolve([p], {}, environ={"DEPLOYTRAIL_DRY_RUN": "true"})[0]["dry_run"] is True
    assert resolve([p], {}, environ={"DEPLOYTRAIL_DRY_RUN": "false"})[0]["dry_run"] is False


def test_multiple_values_split_on_whitespace_in_the_environment() -> None:
    p = Param("events", "e", multiple=True)
    values, _ = resolve([p], {}, environ={"DEPLOYTRAIL_EVENTS": "file:a\nredis://h:1/0"})
    assert values["events"] == ["file:a", "redis://h:1/0"]


def test_a_check_failure_names_the_option() -> None:
    p = Param("revision", "r", check=lambda v: None if len(v) >= 7 else "too short")
    _, problems = resolve([p], {"revision": "abc"}, environ={})
    assert problems == ["--revision: too short"]
