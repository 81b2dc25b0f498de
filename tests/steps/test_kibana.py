"""`deploytrail kibana` (render / --check) and `deploytrail kibana import`, through the CLI."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from deploytrail.cli import main
from fakes.http import FakeAPI
from fakes.kibana import FakeKibana

SHIPPED = Path(__file__).resolve().parents[2] / "kibana_markers"
FILES = ("deploytrail.ndjson", "logstash/deploytrail.conf", "elasticsearch/index-template.json")
API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A private copy of kibana_markers/ to change."""
    target = tmp_path / "kibana_markers"
    shutil.copytree(SHIPPED, target)
    return target


def kibana(*args: str, folder: Path = SHIPPED) -> int:
    return main(["kibana", "--markers", str(folder / "markers.toml"), "--out", str(folder),
                 *args])


# --- render and --check ----------------------------------------------------------------------


def test_the_committed_files_match_a_fresh_render(capsys: pytest.CaptureFixture[str]) -> None:
    assert kibana("--check") == 0
    assert "3 files" in capsys.readouterr().out


def test_check_fails_naming_the_files_a_marker_change_affects(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    markers = copy / "markers.toml"
    markers.write_text(markers.read_text().replace("#e7664c", "#bd271e"), encoding="utf-8")
    assert kibana("--check", folder=copy) == 1
    err = capsys.readouterr().err
    assert f"{copy / 'deploytrail.ndjson'} differs" in err
    assert "deploytrail.conf" not in err and "index-template.json" not in err
    assert "run 'deploytrail kibana'" in err


def test_check_fails_when_a_pipeline_setting_changes_or_a_file_is_missing(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    markers = copy / "markers.toml"
    markers.write_text(markers.read_text().replace('redis_key = "deploytrail"',
                                                   'redis_key = "deploys"'), encoding="utf-8")
    (copy / "elasticsearch" / "index-template.json").unlink()
    assert kibana("--check", folder=copy) == 1
    err = capsys.readouterr().err
    assert "deploytrail.conf differs" in err and "index-template.json is missing" in err


def test_rendering_writes_the_same_bytes_as_the_committed_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["kibana", "--markers", str(SHIPPED / "markers.toml"), "--out", str(out)]) == 0
    for name in FILES:
        assert (out / name).read_bytes() == (SHIPPED / name).read_bytes(), name
    first = {name: (out / name).read_bytes() for name in FILES}
    assert main(["kibana", "--markers", str(SHIPPED / "markers.toml"), "--out", str(out)]) == 0
    assert first == {name: (out / name).read_bytes() for name in FILES}


def test_a_bad_marker_definition_is_bad_input_naming_file_and_marker(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    markers = copy / "markers.toml"
    markers.write_text(markers.read_text().replace('icon = "alert"', 'icon = "skull"'),
                       encoding="utf-8")
    (copy / "deploytrail.ndjson").unlink()
    assert kibana(folder=copy) == 2
    err = capsys.readouterr().err
    assert str(markers) in err and "'Failed deployment'" in err and "'skull'" in err
    assert not (copy / "deploytrail.ndjson").exists()  # nothing half-written


# --- the command line around two steps sharing the word 'kibana' ------------------------------


def test_top_level_help_lists_kibana_and_kibana_import(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines()]
    assert any(line.startswith("kibana import ") for line in lines)
    assert any(line.startswith("kibana ") and "Render the Kibana" in line for line in lines)


def test_kibana_import_help_shows_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kibana", "import", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--kibana-url" in out and "DEPLOYTRAIL_KIBANA_API_KEY" in out and "--check" not in out


def test_kibana_help_shows_the_render_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kibana", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--check" in out and "--markers" in out and "--kibana-url" not in out


# --- import -----------------------------------------------------------------------------------


def test_import_uploads_the_file_with_the_api_key_from_the_environment(
    fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kibana_api = FakeKibana(fake_api, api_key=API_KEY)
    monkeypatch.setenv("DEPLOYTRAIL_KIBANA_API_KEY", API_KEY)
    code = main(["kibana", "import", "--kibana-url", kibana_api.url, "--space", "ops",
                 "--file", str(SHIPPED / "deploytrail.ndjson")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    count = len((SHIPPED / "deploytrail.ndjson").read_text().splitlines())
    assert f"imported {count} saved objects" in captured.out and "(space ops)" in captured.out
    assert len(kibana_api.stored("ops")) == count
    assert API_KEY not in captured.out + captured.err


def test_import_with_user_and_password_from_the_environment(
    fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    FakeKibana(fake_api, username="ops", password="s3cret-pass")
    monkeypatch.setenv("DEPLOYTRAIL_KIBANA_USERNAME", "ops")
    monkeypatch.setenv("DEPLOYTRAIL_KIBANA_PASSWORD", "s3cret-pass")
    assert main(["kibana", "import", "--kibana-url", fake_api.url,
                 "--file", str(SHIPPED / "deploytrail.ndjson")]) == 0
    captured = capsys.readouterr()
    assert "s3cret-pass" not in captured.out + captured.err


def test_an_import_kibana_partly_refused_exits_non_zero_listing_each_object(
    fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    FakeKibana(fake_api, api_key=API_KEY, known_types=frozenset({"index-pattern", "search"}))
    monkeypatch.setenv("DEPLOYTRAIL_KIBANA_API_KEY", API_KEY)
    code = main(["kibana", "import", "--kibana-url", fake_api.url,
                 "--file", str(SHIPPED / "deploytrail.ndjson")])
    err = capsys.readouterr().err
    assert code == 3
    assert "imported 4 of 6 saved objects" in err
    assert "event-annotation-group" in err and "visualization" in err
    assert "'[deploytrail] Deployment markers'" in err and "unsupported type" in err
    assert API_KEY not in err


def test_a_refused_api_key_is_a_service_error_that_never_shows_the_key(
    fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    FakeKibana(fake_api, api_key="the-right-one")
    monkeypatch.setenv("DEPLOYTRAIL_KIBANA_API_KEY", API_KEY)
    assert main(["kibana", "import", "--kibana-url", fake_api.url,
                 "--file", str(SHIPPED / "deploytrail.ndjson")]) == 3
    captured = capsys.readouterr()
    assert "refused the credentials" in captured.err
    assert API_KEY not in captured.out + captured.err


def test_kibana_down_is_a_clear_error_with_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("DEPLOYTRAIL_KIBANA_API_KEY", API_KEY)
    assert main(["kibana", "import", "--kibana-url", f"http://127.0.0.1:{port}",
                 "--file", str(SHIPPED / "deploytrail.ndjson")]) == 3
    err = capsys.readouterr().err
    assert "could not reach Kibana" in err and f"127.0.0.1:{port}" in err
    assert API_KEY not in err


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--kibana-url", "kibana.example.com"], {}, "http:// or https://"),
        (["--kibana-url", "http://k", "--space", "Ops Team"], {}, "space id"),
        (["--kibana-url", "http://k"], {"DEPLOYTRAIL_KIBANA_USERNAME": "ops"}, "needs both"),
        ([], {}, "--kibana-url is required"),
    ],
)
def test_bad_import_input_is_exit_2_before_any_request(
    args: list[str], env: dict[str, str], says: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["kibana", "import", "--file", str(SHIPPED / "deploytrail.ndjson"), *args]) == 2
    assert says in capsys.readouterr().err


def test_a_file_that_is_not_saved_objects_is_refused_before_upload(
    fake_api: FakeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    FakeKibana(fake_api)
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"type":"search","id":"x","attributes":{}}\n{"title": "no type"}\n')
    assert main(["kibana", "import", "--kibana-url", fake_api.url, "--file", str(broken)]) == 2
    assert f"{broken}:2: not a saved object" in capsys.readouterr().err
    assert main(["kibana", "import", "--kibana-url", fake_api.url,
                 "--file", str(tmp_path / "absent.ndjson")]) == 2
    assert not fake_api.received()
