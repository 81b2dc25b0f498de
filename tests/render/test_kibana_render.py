"""Kibana saved objects, Logstash pipeline and index template rendered from marker definitions.

The structural checks follow the real Kibana objects quoted in the reference notes: the
``kbn_archiver`` discover fixture (saved search), the event-annotations fixture (annotation
group) and the eCommerce sample's "[eCommerce] Promotion Tracking" TSVB chart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from deploytrail.errors import ConfigError
from deploytrail.render.kibana import (
    EXTRA_FIELDS,
    FILES,
    TSVB_ICONS,
    render_all,
    render_index_template,
    render_logstash,
    render_saved_objects,
)
from deploytrail.render.markers import (
    ANNOTATION_ICONS,
    Marker,
    MarkerSet,
    Pipeline,
    kql_problem,
    load_markers,
    parse_markers,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "kibana_markers"

TWO_MARKERS = """
[[marker]]
name = "Deployment started"
query = 'event.action : "deployment-started"'
color = "#6092c0"
icon = "flag"

[[marker]]
name = "Rollback"
query = 'labels.kind : "rollback" and (service.name : api or service.name : "web app")'
color = "#E7664C"
icon = "bolt"
line_style = "dotted"
"""


def objects_of(ndjson: str) -> list[dict[str, Any]]:
    lines = ndjson.splitlines()
    assert ndjson.endswith("\n") and all(line.strip() for line in lines)
    return [json.loads(line) for line in lines]


def shipped_objects() -> list[dict[str, Any]]:
    return objects_of((SHIPPED / "deploytrail.ndjson").read_text(encoding="utf-8"))


def by_type(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["type"] == kind]


# --- the shipped file, structurally ----------------------------------------------------------


def test_every_line_is_one_saved_object_with_type_id_attributes_and_references() -> None:
    objects = shipped_objects()
    for item in objects:
        assert {"type", "id", "attributes", "references"} <= set(item)
        assert isinstance(item["attributes"], dict) and isinstance(item["references"], list)
        for reference in item["references"]:
            assert set(reference) == {"name", "type", "id"}
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)


def test_every_reference_resolves_inside_the_file() -> None:
    objects = shipped_objects()
    present = {(o["type"], o["id"]) for o in objects}
    for item in objects:
        for reference in item["references"]:
            assert (reference["type"], reference["id"]) in present, (item["id"], reference)


def test_the_data_view_covers_deploytrail_indices_with_timestamp_as_time_field() -> None:
    (view,) = by_type(shipped_objects(), "index-pattern")
    assert view["attributes"]["title"] == "deploytrail-*"
    assert view["attributes"]["timeFieldName"] == "@timestamp"
    formats = json.loads(view["attributes"]["fieldFormatMap"])
    assert formats["event.duration"]["params"]["inputFormat"] == "nanoseconds"


def test_each_saved_search_parses_and_its_index_ref_name_resolves_to_the_data_view() -> None:
    objects = shipped_objects()
    (view,) = by_type(objects, "index-pattern")
    markers = load_markers(SHIPPED / "markers.toml").markers
    searches = by_type(objects, "search")
    assert [s["attributes"]["title"] for s in searches] == [
        f"[deploytrail] {m.name}" for m in markers]
    for search, marker in zip(searches, markers, strict=True):
        source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["query"] == {"query": marker.query, "language": "kuery"}
        named = {r["name"]: r for r in search["references"]}
        assert named[source["indexRefName"]] == {
            "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
            "type": "index-pattern", "id": view["id"]}
        assert search["attributes"]["sort"] == [["@timestamp", "desc"]]


def test_the_annotation_group_references_the_data_view_as_kibana_names_it() -> None:
    objects = shipped_objects()
    (view,) = by_type(objects, "index-pattern")
    (group,) = by_type(objects, "event-annotation-group")
    assert group["references"] == [{
        "type": "index-pattern", "id": view["id"],
        "name": f"event-annotation-group_dataView-ref-{view['id']}"}]
    assert group["attributes"]["dataViewSpec"] is None
    assert set(group["attributes"]) >= {"title", "description", "ignoreGlobalFilters",
                                        "annotations", "dataViewSpec"}


def test_the_annotation_group_has_one_query_annotation_per_marker() -> None:
    (group,) = by_type(shipped_objects(), "event-annotation-group")
    markers = load_markers(SHIPPED / "markers.toml").markers
    annotations = group["attributes"]["annotations"]
    assert [a["label"] for a in annotations] == [m.name for m in markers]
    for annotation, marker in zip(annotations, markers, strict=True):
        assert annotation["type"] == "query"
        assert annotation["key"] == {"type": "point_in_time"}
        assert annotation["filter"] == {"type": "kibana_query", "language": "kuery",
                                        "query": marker.query}
        assert annotation["timeField"] == "@timestamp"
        assert annotation["textField"] == "message"
        assert {"service.version", "event.outcome", "labels.build_number"} <= set(
            annotation["extraFields"])
        assert annotation["extraFields"] == list(EXTRA_FIELDS)
        assert (annotation["color"], annotation["icon"]) == (marker.color, marker.icon)
        assert annotation["icon"] in ANNOTATION_ICONS
    assert len({a["id"] for a in annotations}) == len(annotations)


def test_the_tsvb_chart_carries_the_same_markers_with_resolving_index_pattern_refs() -> None:
    objects = shipped_objects()
    (view,) = by_type(objects, "index-pattern")
    (chart,) = by_type(objects, "visualization")
    state = json.loads(chart["attributes"]["visState"])
    assert state["type"] == "metrics" and state["params"]["type"] == "timeseries"
    params = state["params"]
    assert params["use_kibana_indexes"] is True and params["time_field"] == "@timestamp"
    named = {r["name"]: r for r in chart["references"]}
    assert named[params["index_pattern_ref_name"]]["id"] == view["id"]
    markers = load_markers(SHIPPED / "markers.toml").markers
    assert len(params["annotations"]) == len(markers)
    for annotation, marker in zip(params["annotations"], markers, strict=True):
        assert annotation["query_string"] == {"query": marker.query, "language": "kuery"}
        assert annotation["color"] == marker.color
        assert annotation["icon"] == TSVB_ICONS[marker.icon]
        assert annotation["template"].startswith(marker.name)
        assert named[annotation["index_pattern_ref_name"]] == {
            "name": annotation["index_pattern_ref_name"], "type": "index-pattern",
            "id": view["id"]}
        assert "message" in annotation["fields"].split(",")
    json.loads(chart["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def test_the_shipped_defaults_are_started_finished_and_failed() -> None:
    markers = {m.name: m for m in load_markers(SHIPPED / "markers.toml").markers}
    assert markers["Deployment started"].query == 'event.action : "deployment-started"'
    assert "deployment-finished" in markers["Deployment finished"].query
    assert markers["Failed deployment"].query == 'event.outcome : "failure"'


# --- determinism and stable ids -------------------------------------------------------------


def test_rendering_twice_gives_the_same_bytes() -> None:
    definitions = parse_markers(TWO_MARKERS)
    first, second = render_all(definitions), render_all(parse_markers(TWO_MARKERS))
    assert first == second
    assert set(first) == set(FILES)


def test_ids_depend_on_names_only_so_a_reimport_overwrites() -> None:
    before = objects_of(render_saved_objects(parse_markers(TWO_MARKERS).markers))
    recoloured = TWO_MARKERS.replace("#6092c0", "#000000")
    after = objects_of(render_saved_objects(parse_markers(recoloured).markers))
    assert [(o["type"], o["id"]) for o in before] == [(o["type"], o["id"]) for o in after]
    assert before != after


def test_keys_are_sorted_in_every_line_and_in_embedded_json() -> None:
    for line in render_saved_objects(parse_markers(TWO_MARKERS).markers).splitlines():
        item = json.loads(line)
        assert line == json.dumps(item, sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False)


def test_quotes_and_parentheses_in_queries_survive_the_nested_json() -> None:
    objects = objects_of(render_saved_objects(parse_markers(TWO_MARKERS).markers))
    rollback = by_type(objects, "search")[1]
    source = json.loads(rollback["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert source["query"]["query"] == (
        'labels.kind : "rollback" and (service.name : api or service.name : "web app")')


def test_a_tsvb_icon_exists_for_every_lens_icon() -> None:
    assert set(TSVB_ICONS) == set(ANNOTATION_ICONS)
    assert all(icon.startswith("fa-") for icon in TSVB_ICONS.values())


# --- bad marker definitions -------------------------------------------------------------------


def marker_file(tmp_path: Path, **fields: str) -> Path:
    entry = {"name": "Deployment started", "query": 'event.action : "deployment-started"',
             "color": "#6092c0", "icon": "flag", **fields}
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in entry.items())
    path = tmp_path / "markers.toml"
    path.write_text(f"[[marker]]\n{body}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("query", 'event.action : "deployment-started', "unclosed double quote"),
        ("query", "(event.action : started", "unclosed '('"),
        ("query", "event.action : started)", "')' without a matching '('"),
        ("query", "   ", "is empty"),
        ("query", "event.action : started and", "dangling"),
        ("query", "event.action :", "':'"),
        ("icon", "rocket", "not one of Kibana's annotation icons"),
        ("icon", "fa-flag", "not one of Kibana's annotation icons"),
        ("color", "blue", "not a hex color"),
        ("color", "#12345", "not a hex color"),
        ("line_style", "wavy", "line_style"),
        ("colour", "#ffffff", "unknown key(s) colour"),
    ],
)
def test_a_bad_marker_is_a_config_error_naming_the_file_and_the_marker(
    tmp_path: Path, field: str, value: str, says: str
) -> None:
    path = marker_file(tmp_path, **{field: value})
    with pytest.raises(ConfigError) as caught:
        load_markers(path)
    message = str(caught.value)
    assert str(path) in message and "'Deployment started'" in message and says in message


def test_an_unknown_icon_error_lists_the_icons_to_choose_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_markers(marker_file(tmp_path, icon="rocket"))
    assert "starFilled" in str(caught.value) and "editorComment" in str(caught.value)


def test_a_duplicate_name_is_an_error_naming_both_entries(tmp_path: Path) -> None:
    path = tmp_path / "markers.toml"
    again = ('[[marker]]\nname = "deployment STARTED"\nquery = "a : b"\ncolor = "#fff"\n'
             'icon = "bell"\n')
    path.write_text(TWO_MARKERS + again, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_markers(path)
    message = str(caught.value)
    assert str(path) in message and "'deployment STARTED' (entry 3)" in message
    assert "same name as entry 1" in message


def test_a_marker_without_name_or_a_file_without_markers_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="marker entry 1 has no name"):
        parse_markers('[[marker]]\nquery = "a : b"\ncolor = "#fff"\nicon = "flag"\n')
    with pytest.raises(ConfigError, match="no \\[\\[marker\\]\\] entries"):
        parse_markers("[pipeline]\nredis_key = 'x'\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_markers("[[marker]\n")
    with pytest.raises(ConfigError, match="not found"):
        load_markers(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    "query",
    ['event.action : "deployment-started"', 'message : "a \\" quoted ) paren"',
     "not event.outcome : success", "service.name : (api or web)",
     "labels : { build_number : 311 }", "event.duration >= 1000"],
)
def test_well_formed_kql_passes(query: str) -> None:
    assert kql_problem(query) is None


def test_bad_pipeline_settings_are_errors() -> None:
    base = TWO_MARKERS + "\n[pipeline]\n"
    with pytest.raises(ConfigError, match="redis_key"):
        parse_markers(base + 'redis_key = "has space"\n')
    with pytest.raises(ConfigError, match="batch_count"):
        parse_markers(base + "batch_count = 0\n")
    with pytest.raises(ConfigError, match="redis_ssl"):
        parse_markers(base + 'redis_ssl = "yes"\n')


# --- Logstash ----------------------------------------------------------------------------------


def setting(conf: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{re.escape(name)} => (.+)$", conf, flags=re.M)


def test_the_logstash_pipeline_reads_the_redis_list_and_writes_one_document_per_event_id(
) -> None:
    conf = (SHIPPED / "logstash" / "deploytrail.conf").read_text(encoding="utf-8")
    assert conf == render_logstash(load_markers(SHIPPED / "markers.toml").pipeline)
    assert re.search(r"input \{\s*redis \{", conf) and re.search(r"output \{\s*elasticsearch \{",
                                                                  conf)
    assert setting(conf, "data_type") == ['"list"']
    assert setting(conf, "key") == ['"deploytrail"']
    assert setting(conf, "batch_count") == ["125"]
    assert setting(conf, "codec") == ["json"]
    assert setting(conf, "index") == ['"deploytrail-%{+yyyy.MM.dd}"']
    assert setting(conf, "document_id") == ['"%{[event][id]}"']
    assert conf.count("{") == conf.count("}")


def test_logstash_credentials_are_environment_references_never_values() -> None:
    conf = render_logstash(Pipeline(redis_ssl=True))
    for name in ("password", "user"):
        for value in setting(conf, name):
            assert re.fullmatch(r'"\$\{DEPLOYTRAIL_[A-Z_]+\}"', value), value
    assert setting(conf, "password") == ['"${DEPLOYTRAIL_REDIS_PASSWORD}"',
                                         '"${DEPLOYTRAIL_ELASTICSEARCH_PASSWORD}"']
    assert setting(conf, "ssl") == ["true"]


def test_the_pipeline_settings_reach_the_logstash_file() -> None:
    definitions = parse_markers(TWO_MARKERS + '\n[pipeline]\nredis_key = "deploys:prod"\n'
                                "batch_count = 1\nredis_password = false\n")
    conf = render_all(definitions)["logstash/deploytrail.conf"]
    assert setting(conf, "key") == ['"deploys:prod"'] and setting(conf, "batch_count") == ["1"]
    assert "DEPLOYTRAIL_REDIS_PASSWORD}" not in conf.split("output {")[0]


# --- Elasticsearch index template -----------------------------------------------------------


def sample_event() -> dict[str, Any]:
    """A finish event exactly as DESIGN.md draws it, every optional field present."""
    return {
        "@timestamp": "2026-11-26T23:30:00.123Z",
        "message": "api 1.4.2 deployment to production finished: success",
        "event": {"id": "0b8c5a8e-7d55-4f7c-9d7e-4d3c2f1e0a9b", "kind": "event",
                  "category": ["configuration"], "type": ["change"],
                  "action": "deployment-finished", "outcome": "success",
                  "duration": 83000000000, "dataset": "deploytrail.deployment"},
        "service": {"name": "api", "environment": "production", "version": "1.4.2"},
        "labels": {"deployment_id": "5f0e9c8a-1d2b-4c3d-8e9f-0a1b2c3d4e5f",
                   "build_number": "311", "vcs_revision": "a" * 40,
                   "previous_revision": "b" * 40, "ccb": "CCB-123", "commit_count": "12",
                   "triggered_by": "alice"},
        "url": {"full": "https://teamcity.example.com/viewLog.html?buildId=9021"},
        "tags": ["deploytrail", "deployment"],
    }


def leaf_paths(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            found.update(leaf_paths(value, f"{prefix}{key}."))
        else:
            found[prefix + key] = value
    return found


def mapping_of(properties: dict[str, Any], path: str) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    assert head in properties, f"{path}: no explicit mapping"
    node = properties[head]
    return mapping_of(node["properties"], rest) if rest else dict(node)


def test_the_index_template_maps_every_field_of_an_event_explicitly() -> None:
    template = json.loads((SHIPPED / "elasticsearch" / "index-template.json").read_text())
    assert template == json.loads(render_index_template())
    assert template["index_patterns"] == ["deploytrail-*"]
    mappings = template["template"]["mappings"]
    assert mappings["date_detection"] is False
    expected = {str: {"keyword", "match_only_text", "wildcard"}, int: {"long"}}
    for path, value in leaf_paths(sample_event()).items():
        mapped = mapping_of(mappings["properties"], path)["type"]
        if path in {"@timestamp"}:
            assert mapped == "date"
        elif isinstance(value, list):
            assert mapped == "keyword", path
        else:
            assert mapped in expected[type(value)], (path, mapped)
    assert mapping_of(mappings["properties"], "event.duration")["type"] == "long"
    assert mapping_of(mappings["properties"], "message")["type"] == "match_only_text"


def test_the_index_template_maps_what_the_event_publisher_builds() -> None:
    """The other side of the contract: the event module's own finish document."""
    from deploytrail.events import deploy_event
    from deploytrail.record import ReleaseRecord

    fields = {"service": "api", "environment": "production", "version": "1.4.2",
              "build_number": "311", "build_url": "https://tc/viewLog.html?buildId=1",
              "revision": "a" * 40, "previous_revision": "b" * 40, "ticket_key": "CCB-1",
              "triggered_by": "alice", "started_at": "2026-11-26T23:28:37.000Z",
              "finished_at": "2026-11-26T23:30:00.123Z", "outcome": "success"}
    known = {k: v for k, v in fields.items() if k in ReleaseRecord.__dataclass_fields__}
    document = deploy_event(ReleaseRecord(**known), "finish")
    properties = json.loads(render_index_template())["template"]["mappings"]["properties"]
    for path in leaf_paths(document):
        mapping_of(properties, path)


def test_marker_set_defaults_match_the_documented_pipeline() -> None:
    definitions = MarkerSet((Marker("m", "a : b", "#ffffff", "flag"),))
    assert definitions.pipeline == Pipeline("deploytrail", 125, True, False)
