"""The state directory: DEPLOYTRAIL_HOME, else the platform's per-user place."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytrail.cli import main
from deploytrail.errors import ConfigError
from deploytrail.paths import state_dir


def test_deploytrail_home_is_used_and_created(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYTRAIL_HOME", str(tmp_path / "a" / "b"))
    assert state_dir() == tmp_path / "a" / "b" and (tmp_path / "a" / "b").is_dir()


def test_xdg_state_home_is_followed_without_deploytrail_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEPLOYTRAIL_HOME")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "deploytrail"


def test_an_unusable_state_directory_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DEPLOYTRAIL_HOME", str(blocker / "state"))
    with pytest.raises(ConfigError, match="DEPLOYTRAIL_HOME"):
        state_dir()
    assert main(["history"]) == 2
    err = capsys.readouterr().err
    assert "DEPLOYTRAIL_HOME" in err and "Traceback" not in err
