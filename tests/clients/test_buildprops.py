"""Reading the running TeamCity build from the agent's build properties file."""

from __future__ import annotations

from pathlib import Path

from deploytrail.clients.buildprops import read_properties, running_build


def test_java_properties_escapes_comments_and_continuations(tmp_path: Path) -> None:
    path = tmp_path / "b.properties"
    path.write_text(
        "# comment\n! also a comment\n"
        "teamcity.serverUrl=http\\://tc.example.com\\:8111\n"
        "spaced.key : value with spaces  \n"
        "key\\=with\\:escapes=v\n"
        "unicode=caf\\u00e9\n"
        "long=first \\\n    second\n"
        "bare\n")
    props = read_properties(path)
    assert props["teamcity.serverUrl"] == "http://tc.example.com:8111"
    assert props["spaced.key"] == "value with spaces  "
    assert props["key=with:escapes"] == "v"
    assert props["unicode"] == "café"
    assert props["long"] == "first second"
    assert props["bare"] == ""


def test_running_build_reads_id_credentials_and_the_server_from_the_config_file(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.properties"
    config.write_text("teamcity.serverUrl=https\\://tc.example.com\n")
    props = tmp_path / "build.properties"
    props.write_text("teamcity.build.id=9021\nteamcity.auth.userId=TeamCityBuildId\\=9021\n"
                     "teamcity.auth.password=s3cr3t\n"
                     f"teamcity.configuration.properties.file={config}\n")
    build = running_build({"TEAMCITY_BUILD_PROPERTIES_FILE": str(props)})
    assert build is not None
    assert (build.build_id, build.username, build.password, build.server_url) == (
        "9021", "TeamCityBuildId=9021", "s3cr3t", "https://tc.example.com")
    assert "s3cr3t" not in repr(build)


def test_no_properties_file_or_no_credentials_means_no_running_build(tmp_path: Path) -> None:
    assert running_build({}) is None
    assert running_build({"TEAMCITY_BUILD_PROPERTIES_FILE": str(tmp_path / "missing")}) is None
    partial = tmp_path / "p.properties"
    partial.write_text("teamcity.build.id=1\n")
    assert running_build({"TEAMCITY_BUILD_PROPERTIES_FILE": str(partial)}) is None
