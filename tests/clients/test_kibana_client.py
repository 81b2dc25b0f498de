"""The Kibana client against a fake of the saved-objects import API (real requests, real HTTP)."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest

from deploytrail.clients.kibana import KibanaClient
from deploytrail.errors import ServiceError, ServiceUnavailable
from fakes.http import FakeAPI
from fakes.kibana import FakeKibana

SHIPPED = Path(__file__).resolve().parents[2] / "kibana_markers" / "deploytrail.ndjson"


def shipped() -> bytes:
    return SHIPPED.read_bytes()


def test_the_import_is_a_multipart_upload_of_an_ndjson_file_with_kbn_xsrf(
    fake_api: FakeAPI,
) -> None:
    kibana = FakeKibana(fake_api)
    result = KibanaClient(kibana.url).import_saved_objects(shipped())
    (request,) = fake_api.received("POST")
    assert request.path == "/api/saved_objects/_import"
    assert request.arg("overwrite") == "true"
    assert request.header("kbn-xsrf")
    assert (request.header("Content-Type") or "").startswith("multipart/form-data; boundary=")
    (upload,) = kibana.uploads
    assert upload.filename.endswith(".ndjson") and upload.overwrite
    assert upload.objects == [json.loads(line) for line in shipped().splitlines()]
    assert result.success and result.success_count == len(upload.objects) and not result.errors


def test_a_space_goes_into_the_path(fake_api: FakeAPI) -> None:
    kibana = FakeKibana(fake_api)
    KibanaClient(kibana.url + "/", space="ops-team").import_saved_objects(shipped())
    assert fake_api.received("POST")[0].path == "/s/ops-team/api/saved_objects/_import"
    assert kibana.stored("ops-team") and not kibana.stored("default")


def test_an_api_key_is_sent_as_an_apikey_authorization_header(fake_api: FakeAPI) -> None:
    kibana = FakeKibana(fake_api, api_key="c2VjcmV0OmtleQ==")
    KibanaClient(kibana.url, api_key="c2VjcmV0OmtleQ==").import_saved_objects(shipped())
    assert fake_api.received("POST")[0].header("Authorization") == "ApiKey c2VjcmV0OmtleQ=="


def test_a_user_and_password_are_sent_as_basic_auth(fake_api: FakeAPI) -> None:
    kibana = FakeKibana(fake_api, username="ops", password="pa55word")
    KibanaClient(kibana.url, username="ops", password="pa55word").import_saved_objects(shipped())
    header = fake_api.received("POST")[0].header("Authorization") or ""
    assert base64.b64decode(header.removeprefix("Basic ")) == b"ops:pa55word"


def test_reimporting_overwrites_by_id_instead_of_duplicating(fake_api: FakeAPI) -> None:
    kibana = FakeKibana(fake_api)
    client = KibanaClient(kibana.url)
    client.import_saved_objects(shipped())
    count = len(kibana.stored())
    assert client.import_saved_objects(shipped()).success
    assert len(kibana.stored()) == count == len(shipped().splitlines())


def test_a_200_answer_with_success_false_carries_each_objects_error(fake_api: FakeAPI) -> None:
    kibana = FakeKibana(fake_api, known_types=frozenset({"index-pattern", "search"}))
    result = KibanaClient(kibana.url).import_saved_objects(shipped())
    assert not result.success
    assert result.success_count == len(shipped().splitlines()) - 2
    assert sorted(e.type for e in result.errors) == ["event-annotation-group", "visualization"]
    group = next(e for e in result.errors if e.type == "event-annotation-group")
    assert "unsupported type" in group.describe() and "8.9" in group.describe()
    assert group.title == "[deploytrail] Deployment markers"


def test_missing_references_name_the_missing_object(fake_api: FakeAPI) -> None:
    kibana = FakeKibana(fake_api)
    without_view = b"\n".join(line for line in shipped().splitlines()
                              if json.loads(line)["type"] != "index-pattern")
    view_id = json.loads(shipped().splitlines()[0])["id"]
    result = KibanaClient(kibana.url).import_saved_objects(without_view)
    assert not result.success and result.errors
    assert all("missing references" in e.reason and view_id in e.reason for e in result.errors)


def test_a_conflict_without_overwrite_is_reported(fake_api: FakeAPI) -> None:
    kibana = FakeKibana(fake_api)
    client = KibanaClient(kibana.url)
    client.import_saved_objects(shipped())
    result = client.import_saved_objects(shipped(), overwrite=False)
    assert not result.success and all("conflict" in e.reason for e in result.errors)


def test_refused_credentials_are_a_service_error_with_a_hint(fake_api: FakeAPI) -> None:
    kibana = FakeKibana(fake_api, api_key="right")
    with pytest.raises(ServiceError) as caught:
        KibanaClient(kibana.url, api_key="wrong-key-value").import_saved_objects(shipped())
    assert caught.value.status == 401
    assert "DEPLOYTRAIL_KIBANA_API_KEY" in str(caught.value)
    assert "wrong-key-value" not in str(caught.value)


def test_a_server_error_is_a_service_error_quoting_the_server(fake_api: FakeAPI) -> None:
    FakeKibana(fake_api)
    fake_api.fail_next(1, 500, "Internal Server Error: saved objects index is read-only")
    with pytest.raises(ServiceError) as caught:
        KibanaClient(fake_api.url).import_saved_objects(shipped())
    assert caught.value.status == 500 and "read-only" in str(caught.value)


def test_an_answer_that_is_not_an_import_result_is_a_service_error(fake_api: FakeAPI) -> None:
    from fakes.http import Reply

    fake_api.route("POST", r"/api/saved_objects/_import", lambda r: Reply.text("<html>proxy"))
    with pytest.raises(ServiceError, match="not JSON"):
        KibanaClient(fake_api.url).import_saved_objects(shipped())


def test_kibana_down_is_service_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ServiceUnavailable) as caught:
        KibanaClient(f"http://user:hunter22@127.0.0.1:{port}", timeout=2).import_saved_objects(
            shipped())
    assert caught.value.exit_code == 3 and "hunter22" not in str(caught.value)
    assert "could not reach Kibana" in str(caught.value)


def test_auth_headers_read_the_api_key_first_then_user_and_password() -> None:
    from deploytrail.clients.kibana import auth_headers

    assert auth_headers({"DEPLOYTRAIL_KIBANA_API_KEY": "abc",
                         "DEPLOYTRAIL_KIBANA_USERNAME": "ops"}) == {"Authorization": "ApiKey abc"}
    basic = auth_headers({"DEPLOYTRAIL_KIBANA_USERNAME": "ops",
                          "DEPLOYTRAIL_KIBANA_PASSWORD": "pw"})["Authorization"]
    assert base64.b64decode(basic.removeprefix("Basic ")) == b"ops:pw"
    assert auth_headers({}) == {}
