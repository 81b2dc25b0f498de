"""deployment-info: the client against local servers, and the WSGI app served by wsgiref."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests

from deploytrail.clients.deployment_info import DeploymentInfoClient
from deploytrail.deployment_info import ENV_VAR, make_app
from deploytrail.errors import ConfigError, ServiceError, ServiceUnavailable
from fakes.http import FakeAPI, Reply

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def module_api() -> Iterator[FakeAPI]:
    """One server for the module: stopping a FakeAPI costs half a second."""
    with FakeAPI() as api:
        yield api


@pytest.fixture
def fake_api(module_api: FakeAPI) -> FakeAPI:
    """The module's server with no routes or requests left from an earlier test."""
    module_api.routes.clear()
    module_api.requests.clear()
    return module_api


def serve(api: FakeAPI, reply: Reply) -> str:
    api.route("GET", r"/deployment-info", lambda request: reply)
    return api.url + "/deployment-info"


def test_reads_the_revision_and_the_time(fake_api: FakeAPI) -> None:
    url = serve(fake_api, Reply.json({"revision": SHA.upper(), "deployed_at": "2026-01-02T03:04Z",
                                      "version": "1.4.2", "build_number": 311}))
    info = DeploymentInfoClient(url).fetch()
    assert (info.revision, info.deployed_at, info.version, info.build_number) == (
        SHA, "2026-01-02T03:04Z", "1.4.2", "311")


@pytest.mark.parametrize("name", ["sha", "commit", "git_sha"])
def test_common_field_spellings_are_accepted(fake_api: FakeAPI, name: str) -> None:
    url = serve(fake_api, Reply.json({name: SHA[:12]}))
    assert DeploymentInfoClient(url).fetch().revision == SHA[:12]


def test_a_configured_field_path_is_followed(fake_api: FakeAPI) -> None:
    url = serve(fake_api, Reply.json({"build": {"git": {"id": SHA}}, "revision": "other"}))
    assert DeploymentInfoClient(url, field="build.git.id").fetch().revision == SHA


def test_redirects_are_followed_and_the_auth_header_sent(fake_api: FakeAPI) -> None:
    fake_api.route("GET", r"/old", lambda r: Reply(302, b"", {"Location": "/deployment-info"}))
    serve(fake_api, Reply.json({"revision": SHA}))
    info = DeploymentInfoClient(fake_api.url + "/old",
                                auth_header="Authorization: Bearer s3cr3t-token").fetch()
    assert info.revision == SHA
    assert fake_api.received(path_re="deployment-info")[0].header("Authorization") == (
        "Bearer s3cr3t-token")


def test_the_auth_header_is_not_sent_on_to_another_host(fake_api: FakeAPI) -> None:
    with FakeAPI() as elsewhere:  # another port: another origin, as requests sees it
        serve(elsewhere, Reply.json({"revision": SHA}))
        fake_api.route("GET", r"/old", lambda r: Reply(
            302, b"", {"Location": elsewhere.url + "/deployment-info"}))
        info = DeploymentInfoClient(fake_api.url + "/old",
                                    auth_header="X-Api-Key: s3cr3t-token").fetch()
        assert info.revision == SHA
        assert fake_api.received()[0].header("X-Api-Key") == "s3cr3t-token"
        assert elsewhere.received()[0].header("X-Api-Key") is None


def test_a_malformed_auth_header_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Name: value"):
        DeploymentInfoClient("https://x/deployment-info", auth_header="just-a-token")


def test_an_html_error_page_is_quoted_shortened_with_the_url(fake_api: FakeAPI) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1>" + "<p>nginx</p>" * 200 + "</body></html>"
    url = serve(fake_api, Reply.text(page, 200, "text/html"))
    with pytest.raises(ServiceError) as caught:
        DeploymentInfoClient(url).fetch()
    text = str(caught.value)
    assert "not JSON" in text and url in text and "<h1>502 Bad Gateway</h1>" in text
    assert len(text) < 800


def test_a_missing_field_names_the_fields_tried(fake_api: FakeAPI) -> None:
    url = serve(fake_api, Reply.json({"version": "1.4.2"}))
    with pytest.raises(ServiceError, match=r"no revision field \(revision, sha, commit, git_sha\)"):
        DeploymentInfoClient(url).fetch()


@pytest.mark.parametrize("value", ["latest", "abc12", "g" * 40, "a" * 41, 12345678, None])
def test_a_value_that_is_not_a_revision_is_refused(fake_api: FakeAPI, value: object) -> None:
    url = serve(fake_api, Reply.json({"revision": value} if value is not None else {"sha": []}))
    with pytest.raises(ServiceError, match=r"not a 7-40 hex commit id|no revision field"):
        DeploymentInfoClient(url).fetch()


def test_a_json_array_is_refused(fake_api: FakeAPI) -> None:
    url = serve(fake_api, Reply.json([SHA]))
    with pytest.raises(ServiceError, match="not an object"):
        DeploymentInfoClient(url).fetch()


def test_a_server_error_quotes_the_status_and_body(fake_api: FakeAPI) -> None:
    url = serve(fake_api, Reply.text("database is down", 500))
    with pytest.raises(ServiceError) as caught:
        DeploymentInfoClient(url).fetch()
    assert caught.value.status == 500 and "database is down" in str(caught.value)


def test_a_service_that_is_down_is_service_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/deployment-info"
    with pytest.raises(ServiceUnavailable, match="cannot reach") as caught:
        DeploymentInfoClient(url).fetch()
    assert url in str(caught.value)


def test_a_slow_service_times_out(fake_api: FakeAPI) -> None:
    def slow(request: object) -> Reply:
        time.sleep(1.0)
        return Reply.json({"revision": SHA})

    fake_api.route("GET", r"/slow", slow)
    with pytest.raises(ServiceUnavailable, match=r"no answer within 0\.2 s"):
        DeploymentInfoClient(fake_api.url + "/slow", timeout=0.2).fetch()


def test_credentials_in_the_url_never_show(fake_api: FakeAPI) -> None:
    serve(fake_api, Reply.text("nope", 500))
    url = fake_api.url.replace("http://", "http://user:hunter2@") + "/deployment-info"
    with pytest.raises(ServiceError) as caught:
        DeploymentInfoClient(url).fetch()
    assert "hunter2" not in str(caught.value)


# --- TLS with a private CA --------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"revision": SHA}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/deployment-info", cert
    server.shutdown()


def test_tls_is_verified_by_default(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    with pytest.raises(ServiceUnavailable, match="TLS verification failed") as caught:
        DeploymentInfoClient(url).fetch()
    assert "--info-ca-bundle" in str(caught.value)


def test_a_custom_ca_bundle_is_trusted(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    assert DeploymentInfoClient(url, ca_bundle=str(cert)).fetch().revision == SHA


def test_a_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        DeploymentInfoClient("https://x/", ca_bundle=str(tmp_path / "none.pem"))


# --- the WSGI app -----------------------------------------------------------------------------
class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def wsgi(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    path = tmp_path / "deployment-info.json"
    server = make_server("127.0.0.1", 0, make_app(path), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/deployment-info", path
    server.shutdown()
    server.server_close()


def test_the_wsgi_app_serves_the_file_the_client_reads(wsgi: tuple[str, Path]) -> None:
    url, path = wsgi
    path.write_text(json.dumps({"revision": SHA, "version": "1.4.2"}))
    assert DeploymentInfoClient(url).fetch().version == "1.4.2"
    path.write_text(json.dumps({"revision": SHA[:7], "version": "1.4.3"}))  # a new deploy
    answer = requests.get(url, timeout=5)
    assert answer.json()["version"] == "1.4.3"
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_wsgi_app_says_503_before_the_first_deploy(wsgi: tuple[str, Path]) -> None:
    url, _ = wsgi
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 503 and answer.json() == {"error": "no deployment recorded yet"}
    with pytest.raises(ServiceError) as caught:
        DeploymentInfoClient(url).fetch()
    assert caught.value.status == 503


def test_the_wsgi_app_refuses_writes(wsgi: tuple[str, Path]) -> None:
    url, path = wsgi
    path.write_text("{}")
    answer = requests.post(url, data="x", timeout=5)
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, HEAD"


def test_the_wsgi_app_hides_a_broken_file(wsgi: tuple[str, Path]) -> None:
    url, path = wsgi
    path.write_text("{not json")
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 500 and str(path) not in answer.text


def test_the_module_level_application_reads_the_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploytrail.deployment_info import application

    path = tmp_path / "info.json"
    path.write_text(json.dumps({"revision": SHA}))
    monkeypatch.setenv(ENV_VAR, str(path))
    seen: list[str] = []
    body = application({"REQUEST_METHOD": "GET", "PATH_INFO": "/"},
                       lambda status, headers: seen.append(status))
    assert seen == ["200 OK"] and json.loads(b"".join(body)) == {"revision": SHA}
