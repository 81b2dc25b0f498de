"""deploytrail info write: the JSON a service serves at /deployment-info."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from deploytrail.cli import main

SHA = "0123456789ABCDEF0123456789abcdef01234567"


def test_writes_the_json_a_service_serves(tmp_path: Path) -> None:
    out = tmp_path / "srv" / "deployment-info.json"
    assert main(["info", "write", "--revision", SHA, "--version", "1.4.2",
                 "--build-number", "311", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert list(data) == ["revision", "deployed_at", "version", "build_number"]
    assert (data["revision"], data["version"], data["build_number"]) == (
        SHA.lower(), "1.4.2", "311")
    assert datetime.fromisoformat(data["deployed_at"]).utcoffset() is not None
    assert [p.name for p in out.parent.iterdir()] == ["deployment-info.json"]  # no temp left


def test_values_come_from_the_environment_as_in_a_meta_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "info.json"
    monkeypatch.setenv("DEPLOYTRAIL_REVISION", SHA[:7])
    monkeypatch.setenv("DEPLOYTRAIL_OUT", str(out))
    assert main(["info", "write"]) == 0
    assert json.loads(out.read_text())["revision"] == SHA[:7].lower()


@pytest.mark.parametrize("revision", ["HEAD", "main", "abc12", "z" * 40])
def test_a_revision_that_is_not_a_sha_is_refused(
    tmp_path: Path, revision: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "info.json"
    assert main(["info", "write", "--revision", revision, "--out", str(out)]) == 2
    assert "not a 7-40 hex commit id" in capsys.readouterr().err
    assert not out.exists()


def test_out_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "write", "--revision", SHA]) == 2
    assert "--out is required" in capsys.readouterr().err


def test_an_out_path_that_cannot_be_written_is_an_input_error_leaving_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("")
    assert main(["info", "write", "--revision", SHA, "--out", str(tmp_path / "afile" / "x")]) == 2
    assert f"cannot write {tmp_path / 'afile' / 'x'}" in capsys.readouterr().err
    assert main(["info", "write", "--revision", SHA, "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]
