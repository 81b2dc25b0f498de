"""The release record: load, update, atomic save, clear errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploytrail import record
from deploytrail.cli import main
from deploytrail.errors import RecordError


def test_a_missing_record_starts_a_new_deployment(tmp_path: Path) -> None:
    rec = record.load(tmp_path / "none.json")
    assert len(rec.deployment_id) == 36 and rec.commits == []


def test_update_saves_what_the_caller_changed(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with record.update(path) as rec:
        rec.service = "api"
        first_id = rec.deployment_id
    again = record.load(path)
    assert again.service == "api" and again.deployment_id == first_id


def test_save_leaves_no_temp_file_behind(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    record.save(record.ReleaseRecord(service="api"), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_record_path_follows_deploytrail_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYTRAIL_RECORD", str(tmp_path / "x.json"))
    assert record.record_path() == tmp_path / "x.json"


def test_a_corrupt_record_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("{not json")
    with pytest.raises(RecordError, match=str(path).replace("\\", "\\\\")):
        record.load(path)


def test_a_foreign_json_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"name": "package.json"}))
    with pytest.raises(RecordError, match="not a deploytrail release record"):
        record.load(path)


def test_unknown_fields_from_a_newer_deploytrail_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema": record.SCHEMA, "service": "api", "future": 1}))
    assert record.load(path).service == "api"


def test_save_writes_non_ascii_as_is(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    record.save(record.ReleaseRecord(triggered_by="Zoë"), path)
    assert "Zoë" in path.read_text(encoding="utf-8")


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    import multiprocessing

    path = tmp_path / "r.json"
    record.save(record.ReleaseRecord(), path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_note, args=(str(path), i)) for i in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert sorted(record.load(path).notes) == [str(i) for i in range(6)]


def _add_note(path: str, index: int) -> None:
    with record.update(path) as rec:
        rec.notes[str(index)] = True


def test_cli_reports_a_corrupt_record_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploytrail.params import Args
    from deploytrail.step import Step
    from deploytrail.steps import STEPS

    path = tmp_path / "bad.json"
    path.write_text("garbage")
    monkeypatch.setenv("DEPLOYTRAIL_RECORD", str(path))

    def run(args: Args, report: object) -> int:
        record.load()
        return 0

    step = Step(words=("load-record-test",), summary="t", params=(), run=run, metarunner=False)
    monkeypatch.setitem(STEPS, step.id, step)
    assert main(["load-record-test"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err


def test_a_record_left_by_an_earlier_teamcity_build_is_not_continued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    props = tmp_path / "build.properties"
    props.write_text("teamcity.build.id=100\n")
    monkeypatch.setenv("TEAMCITY_BUILD_PROPERTIES_FILE", str(props))
    path = tmp_path / "r.json"
    with record.update(path) as rec:
        rec.ticket_key = "CHG-1"
        first_id = rec.deployment_id
    assert record.load(path).ticket_key == "CHG-1"  # the same build continues its record
    props.write_text("teamcity.build.id=101\n")  # the next build, same checkout directory
    fresh = record.load(path)
    assert fresh.ticket_key is None and fresh.deployment_id != first_id
    assert fresh.teamcity_build_id == "101"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("notes", [], "notes (list, expected an object)"),
     ("commits", "abc", "commits (str, expected a list of objects)"),
     ("commits", ["abc"], "commits (list, expected a list of objects)"),
     ("service", 5, "service (int, expected text or null)"),
     ("changelog_truncated", "yes", "changelog_truncated (str, expected true or false)"),
     ("deployment_id", None, "deployment_id (NoneType, expected text)")],
)
def test_a_hand_edited_record_with_a_wrong_type_names_the_file_and_the_field(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema": record.SCHEMA, "service": "api", field: value}))
    with pytest.raises(RecordError) as caught:
        record.load(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


def test_a_record_that_cannot_be_written_is_a_record_error_leaving_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "afile").write_text("x")
    path = tmp_path / "afile" / "r.json"
    with pytest.raises(RecordError, match=r"cannot write release record .*afile"), \
            record.update(path):
        pass
    with pytest.raises(RecordError, match="writable folder"):
        record.save(record.ReleaseRecord(), path)
    folder = tmp_path / "folder"
    (folder / "r.json").mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(RecordError, match="cannot write release record"):
        record.save(record.ReleaseRecord(), folder / "r.json")
    assert [p.name for p in folder.iterdir()] == ["r.json"]  # no temp file left


def test_an_error_inside_update_is_not_mistaken_for_an_unwritable_record(
    tmp_path: Path,
) -> None:
    with pytest.raises(FileNotFoundError), record.update(tmp_path / "r.json"):
        open(tmp_path / "missing")  # noqa: SIM115 - the caller's own error passes through
    assert not (tmp_path / "r.json").exists()


def test_the_default_record_folder_ignores_itself_in_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path / "svc")], check=True)
    monkeypatch.chdir(tmp_path / "svc")
    monkeypatch.delenv("DEPLOYTRAIL_RECORD")
    record.save(record.ReleaseRecord(service="api"))
    assert (tmp_path / "svc" / ".deploytrail" / "release.json").exists()
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout
    assert status == ""
