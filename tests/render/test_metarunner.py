"""Meta-runner XML: structure like real meta-runners, no undeclared references, no leaks."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from deploytrail.cli import main
from deploytrail.params import Args, Param
from deploytrail.render.metarunner import PREDEFINED, references, render, render_all
from deploytrail.step import Step
from deploytrail.steps import STEPS

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "teamcity_meta_runners"

HOSTILE = (
    "it's \"quoted\" ##teamcity[buildStop] | ] [ < > & %x% 100% \n second line ü 🚀 "
    + "z" * 10_000
)


def _noop(args: Args, report: object) -> int:
    return 0


def _hostile_step() -> Step:
    return Step(
        words=("hostile",),
        summary=HOSTILE,
        params=(
            Param("plain", HOSTILE, default=HOSTILE),
            Param("token", HOSTILE, kind="password", default="do-not-ship-me"),
            Param("choice", HOSTILE, kind="select", choices=("a'b", "c|d", "e]"), default="e]"),
            Param("maybe", HOSTILE, kind="select", choices=("success", "failure")),
            Param("jira_ca_bundle", "j"),
            Param("flag", HOSTILE, kind="checkbox"),
            Param("needed", HOSTILE, required=True),
        ),
        run=_noop,
        mode="execute_always",
    )


def _tree(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"))


def _spec_attrs(spec: str) -> dict[str, str]:
    """Parse a spec like TeamCity does: type, then key='escaped value' pairs."""
    kind, _, rest = spec.partition(" ")
    attrs = {"__type__": kind}
    pattern = re.compile(r"(\w+)='((?:[^'|]|\|.|\|0x[0-9a-f]{4})*)'\s*")
    pos = 0
    while pos < len(rest):
        match = pattern.match(rest, pos)
        assert match, f"malformed spec at {rest[pos:pos + 40]!r}"
        attrs[match[1]] = match[2]
        pos = match.end()
    return attrs


def _check_structure(xml: str) -> None:
    root = _tree(xml)
    assert root.tag == "meta-runner" and root.get("name")
    assert root.find("description") is not None
    settings = root.find("settings")
    assert [child.tag for child in settings] == ["parameters", "build-runners", "requirements"]
    runners = settings.findall("build-runners/runner")
    assert len(runners) == 1 and runners[0].get("type") == "simpleRunner"
    runner_params = {p.get("name"): p.get("value") for p in runners[0].findall("parameters/param")}
    assert runner_params["use.custom.script"] == "true"
    assert runner_params["teamcity.step.mode"] in {
        "default", "execute_if_success", "execute_if_failed", "execute_always"}
    assert re.fullmatch(r"%env\.DEPLOYTRAIL_PYTHON% -m deploytrail [a-z -]+",
                        runner_params["script.content"])
    declared = set()
    for param in settings.findall("parameters/param"):
        name = param.get("name")
        assert name.startswith("env.DEPLOYTRAIL_"), name
        declared.add(name)
        _spec_attrs(param.get("spec"))
    assert "env.DEPLOYTRAIL_PYTHON" in declared
    assert references(xml) <= declared | PREDEFINED


@pytest.mark.parametrize("name", sorted(render_all(list(STEPS.values()))))
def test_every_generated_meta_runner_has_the_structure_of_a_real_one(name: str) -> None:
    _check_structure(render_all(list(STEPS.values()))[name])


def test_the_committed_meta_runners_match_a_fresh_render() -> None:
    files = render_all(list(STEPS.values()))
    for name, xml in files.items():
        assert (COMMITTED / name).read_text(encoding="utf-8") == xml, name


def test_every_secret_param_is_a_password_field_with_no_value() -> None:
    for step in STEPS.values():
        if not step.metarunner:
            continue
        root = _tree(render(step))
        fields = {p.get("name"): p for p in root.iter("param")}
        for param in step.params:
            if param.secret:
                field = fields[f"env.{param.env_var}"]
                assert field.get("spec").startswith("password ")
                assert field.get("value") == ""


def test_hostile_text_keeps_the_xml_well_formed_and_the_spec_parseable() -> None:
    xml = render(_hostile_step())
    _check_structure(xml)
    root = _tree(xml)
    fields = {p.get("name"): p for p in root.find("settings/parameters")}
    plain = fields["env.DEPLOYTRAIL_PLAIN"]
    # the default round-trips exactly (newline included), with % made literal for TeamCity
    assert plain.get("value") == HOSTILE.replace("%", "%%")
    spec = _spec_attrs(plain.get("spec"))
    assert "|n" in spec["description"] and "|[" in spec["description"]
    assert "\n" not in plain.get("spec")


def test_select_choices_become_data_and_label_pairs() -> None:
    root = _tree(render(_hostile_step()))
    spec = _spec_attrs(root.find("settings/parameters/param[@name='env.DEPLOYTRAIL_CHOICE']")
                       .get("spec"))
    assert spec["__type__"] == "select"
    assert (spec["data_1"], spec["data_2"], spec["data_3"]) == ("a|'b", "c||d", "e|]")
    assert spec["label_1"] == "a|'b"


def test_required_params_are_validated_not_empty_and_others_are_not() -> None:
    root = _tree(render(_hostile_step()))
    specs = {p.get("name"): p.get("spec") for p in root.find("settings/parameters")}
    assert "validationMode='not_empty'" in specs["env.DEPLOYTRAIL_NEEDED"]
    assert "validationMode" not in specs["env.DEPLOYTRAIL_PLAIN"]


def test_a_password_default_is_never_shipped() -> None:
    assert "do-not-ship-me" not in render(_hostile_step())


def test_a_run_always_step_carries_the_matching_step_mode() -> None:
    root = _tree(render(_hostile_step()))
    mode = root.find(".//runner/parameters/param[@name='teamcity.step.mode']")
    assert mode.get("value") == "execute_always"


def test_an_undeclared_reference_is_refused() -> None:
    step = Step(words=("bad",), summary="s", run=_noop,
                params=(Param("x", "x", teamcity_default="%not.declared%"),))
    with pytest.raises(ValueError, match=r"not\.declared"):
        render(step)


def test_rendering_is_byte_identical_across_runs() -> None:
    code = ("from deploytrail.render.metarunner import render_all;"
            "from deploytrail.steps import STEPS;"
            "import hashlib;"
            "print(hashlib.sha256(repr(sorted(render_all(list(STEPS.values())).items()))"
            ".encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
               for seed in ("1", "2")}
    assert len(digests) == 1


def test_check_passes_on_fresh_files_and_fails_after_a_param_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = _hostile_step()
    monkeypatch.setitem(STEPS, victim.id, victim)
    out = tmp_path / "mr"
    assert main(["metarunners", "--out", str(out)]) == 0
    assert main(["metarunners", "--out", str(out), "--check"]) == 0
    changed = Step(words=victim.words, summary=victim.summary, run=victim.run,
                   params=(*victim.params, Param("brand_new", "A new param.")),
                   mode=victim.mode)
    monkeypatch.setitem(STEPS, victim.id, changed)
    capsys.readouterr()
    assert main(["metarunners", "--out", str(out), "--check"]) == 1
    assert f"{victim.runner_id}.xml" in capsys.readouterr().err


def test_check_names_a_stale_file_no_step_generates(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mr"
    shutil.copytree(COMMITTED, out)
    (out / "deploytrail_removed_step.xml").write_text("<meta-runner/>")
    assert main(["metarunners", "--out", str(out), "--check"]) == 1
    assert "deploytrail_removed_step.xml" in capsys.readouterr().err


def test_docs_check_fails_when_the_page_is_stale(tmp_path: Path) -> None:
    page = tmp_path / "steps.md"
    assert main(["docs", "--out", str(page)]) == 0
    assert main(["docs", "--out", str(page), "--check"]) == 0
    page.write_text(page.read_text() + "edited by hand\n")
    assert main(["docs", "--out", str(page), "--check"]) == 1


def test_a_select_that_may_stay_empty_is_a_text_field_naming_its_choices() -> None:
    """TeamCity would show an empty select as its first choice and save it on the user's
    behalf (an outcome of 'success' nobody chose)."""
    root = _tree(render(_hostile_step()))
    field = root.find("settings/parameters/param[@name='env.DEPLOYTRAIL_MAYBE']")
    spec = _spec_attrs(field.get("spec"))
    assert spec["__type__"] == "text" and field.get("value") == ""
    assert "One of: success, failure; or leave empty." in spec["description"]
    for step in STEPS.values():
        if step.metarunner:
            for param in _tree(render(step)).iter("param"):
                if (param.get("spec") or "").startswith("select "):
                    assert param.get("value"), (step.id, param.get("name"))


def test_labels_keep_the_spelling_of_names_and_acronyms() -> None:
    root = _tree(render(_hostile_step()))
    spec = root.find("settings/parameters/param[@name='env.DEPLOYTRAIL_JIRA_CA_BUNDLE']")
    assert _spec_attrs(spec.get("spec"))["label"] == "JIRA CA bundle:"
    assert Param("github_url", "g").ui_label == "GitHub URL:"
    assert Param("nonprod_teamcity_token", "t").ui_label == "Non-prod TeamCity token:"
    assert Param("env", "e", label="Environment:").ui_label == "Environment:"


def test_an_out_folder_that_cannot_be_written_is_bad_input_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["metarunners", "--out", str(blocker / "mr")]) == 2
    assert main(["docs", "--out", str(blocker / "steps.md")]) == 2
    (tmp_path / "steps.md").mkdir()  # a folder where the page should be
    assert main(["docs", "--out", str(tmp_path / "steps.md")]) == 2
    assert main(["docs", "--out", str(tmp_path / "steps.md"), "--check"]) == 1
    err = capsys.readouterr().err
    assert err.count("cannot write") == 3 and "give --out a folder" in err
