"""Render a step's declaration as a TeamCity meta-runner (recipe) XML file.

Values reach the step as ``env.DEPLOYTRAIL_<NAME>`` parameters, never as ``%ref%`` text pasted
into a script; the runner is one ``python -m deploytrail <step>`` line that works in ``sh`` on
Linux and macOS agents and in ``cmd`` on Windows agents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from deploytrail.params import PYTHON, Param
from deploytrail.step import Step
from deploytrail.teamcity import escape

__all__ = ["PREDEFINED", "references", "render", "render_all", "spec_for"]

#: TeamCity's predefined parameters a meta-runner may reference without declaring them.
PREDEFINED = frozenset(
    {
        "build.number",
        "build.vcs.number",
        "teamcity.build.id",
        "teamcity.build.checkoutDir",
        "teamcity.build.workingDir",
        "teamcity.build.triggeredBy",
        "teamcity.build.triggeredBy.username",
        "teamcity.buildType.id",
        "teamcity.project.id",
        "teamcity.serverUrl",
        "teamcity.version",
    }
)

_REFERENCE = re.compile(r"%([^%\s]+)%")


@dataclass(frozen=True)
class _Field:
    name: str
    value: str
    spec: str


def spec_for(param: Param) -> str:
    """The ``spec`` attribute: type, then attributes in a fixed order, service-message escaped."""
    kind = _ui_kind(param)
    attrs: list[tuple[str, str]] = []
    if kind == "checkbox":
        attrs += [("checkedValue", "true"), ("uncheckedValue", "false")]
    if kind == "select":
        for index, choice in enumerate(param.choices, start=1):
            attrs.append((f"data_{index}", choice))
            attrs.append((f"label_{index}", choice))
    attrs += [
        ("description", _literal_percent(_describe(param))),
        ("display", "normal"),
        ("label", _literal_percent(param.ui_label)),
    ]
    if param.required:
        attrs.append(("validationMode", "not_empty"))
    return kind + "".join(f" {key}='{escape(value)}'" for key, value in attrs)


def _ui_kind(param: Param) -> str:
    """A select that may be left empty is a text field: TeamCity shows a select with an empty
    value as its first choice and saves that choice, silently answering for the user."""
    empty = not (param.required or param.default or param.teamcity_default)
    return "text" if param.kind == "select" and empty else param.kind


def _describe(param: Param) -> str:
    text = param.help
    if param.kind == "select" and _ui_kind(param) == "text":
        text += f" One of: {', '.join(param.choices)}; or leave empty."
    if param.multiple:
        text += " Separate several values with spaces or new lines."
    if param.secret:
        text += " Stored as a TeamCity password: masked in the build log."
    return text


def _literal_percent(text: str) -> str:
    """TeamCity reads ``%name%`` as a reference; ``%%`` is a literal percent sign."""
    return text.replace("%", "%%")


def _fields(step: Step) -> list[_Field]:
    fields = []
    for param in (*step.params, *PYTHON):
        if param.cli_only:
            continue
        if param.secret:
            value = ""  # never ship a secret, not even a default one
        elif param.teamcity_default:
            value = param.teamcity_default
        else:
            value = _literal_percent(param.default or "")
        fields.append(_Field(f"env.{param.env_var}", value, spec_for(param)))
    return fields


@cache
def _template() -> object:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("deploytrail", "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["xa"] = _xml_attribute
    env.filters["xt"] = _xml_text
    return env.get_template("metarunner.xml.j2")


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_attribute(value: str) -> str:
    text = _xml_text(value).replace('"', "&quot;")
    return text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def render(step: Step) -> str:
    """The meta-runner XML of one step: deterministic, byte for byte."""
    from lxml import etree

    module = step.run.__module__.replace(".", "/")
    words = " ".join(step.words)
    xml = _template().render(  # type: ignore[attr-defined]
        source=f"src/{module}.py",
        name=f"deploytrail: {words}",
        description=_literal_percent(step.summary),
        params=_fields(step),
        runner_name=f"deploytrail {words}",
        script=f"%env.DEPLOYTRAIL_PYTHON% -m deploytrail {words}",
        mode=step.mode,
    )
    etree.fromstring(xml.encode("utf-8"))  # a template bug must never ship broken XML
    undeclared = references(xml) - {f.name for f in _fields(step)} - PREDEFINED
    if undeclared:
        raise ValueError(f"meta-runner for {words!r} references undeclared {sorted(undeclared)}")
    assert isinstance(xml, str)
    return xml


def references(xml: str) -> set[str]:
    """Every ``%name%`` TeamCity would resolve in ``xml`` (``%%`` is a literal percent)."""
    return set(_REFERENCE.findall(xml.replace("%%", "")))


def render_all(steps: list[Step]) -> dict[str, str]:
    """``file name → XML`` for every step offered as a meta-runner."""
    return {f"{step.runner_id}.xml": render(step) for step in steps if step.metarunner}
