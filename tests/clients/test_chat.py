"""The Apprise chat client against a local chat service (real Apprise, real HTTP)."""

from __future__ import annotations

import time

import pytest

from deploytrail.clients.chat import ChatClient, ChatMessage, chat_url_problem, mask_chat_url
from deploytrail.errors import ConfigError, InputError
from fakes.chat import FakeChat
from fakes.http import FakeAPI, Reply, Request
from fakes.net import free_port

MESSAGE = ChatMessage("api 1.4.2 is live", "**api** 1\\.4\\.2 body", "api 1.4.2 body", "success")


def test_markdown_targets_get_the_markdown_body_and_text_targets_the_text(chat: FakeChat) -> None:
    client = ChatClient([chat.json_url("md"), chat.json_url("plain", format="text")])
    assert [t.markdown for t in client.targets] == [True, False]
    deliveries = client.send(MESSAGE)
    assert [d.ok for d in deliveries] == [True, True]
    by_door = {p.door: p for p in chat.posts()}
    assert by_door["json:md"].body == "**api** 1\\.4\\.2 body"
    assert by_door["json:plain"].body == "api 1.4.2 body"
    assert by_door["json:md"].title == "api 1.4.2 is live"
    assert by_door["json:md"].type == "success"


def test_mattermost_follows_apprise_plain_text_unless_the_url_asks_for_markdown(
    chat: FakeChat,
) -> None:
    client = ChatClient([chat.webhook_url("tokenplain1"), chat.webhook_url("tokenmark22",
                                                                           markdown=True)])
    assert [t.markdown for t in client.targets] == [False, True]
    client.send(MESSAGE)
    by_door = {p.door: p for p in chat.posts()}
    assert by_door["webhook:tokenplain1"].body == "api 1.4.2 body"
    assert by_door["webhook:tokenmark22"].body == "**api** 1\\.4\\.2 body"


def test_a_refusing_target_is_reported_with_the_status_and_the_others_still_get_it(
    chat: FakeChat,
) -> None:
    chat.refuse("json:broken", 500)
    client = ChatClient([chat.json_url("ok"), chat.json_url("broken")])
    ok, broken = client.send(MESSAGE)
    assert ok.ok and not broken.ok
    assert broken.target.endswith("/json/broken")
    assert broken.reason is not None and "500" in broken.reason
    assert [p.door for p in chat.posts()] == ["json:ok"]


def test_a_chat_service_that_is_down_is_a_failed_delivery_not_an_exception() -> None:
    client = ChatClient([f"json://127.0.0.1:{free_port()}/json/x"])
    (delivery,) = client.send(MESSAGE)
    assert not delivery.ok
    assert delivery.reason is not None and "connection" in delivery.reason.lower()


def test_a_hanging_chat_service_gives_up_after_the_short_timeout() -> None:
    def slow(request: Request) -> Reply:
        time.sleep(3)
        return Reply.json({})

    with FakeAPI() as api:
        api.route("POST", r"/slow", slow)
        client = ChatClient([f"json://127.0.0.1:{api.port}/slow"], timeout=0.5)
        started = time.monotonic()
        (delivery,) = client.send(MESSAGE)
        assert time.monotonic() - started < 2.5
    assert not delivery.ok and delivery.reason


def test_the_webhook_token_is_masked_in_the_target_and_scrubbed_from_reasons(
    chat: FakeChat,
) -> None:
    token = "s3cretWebhookToken9876"
    chat.refuse(f"webhook:{token}", 403, f"bad token {token}")
    client = ChatClient([chat.webhook_url(token)])
    (delivery,) = client.send(MESSAGE)
    assert not delivery.ok
    assert token not in delivery.target and token not in (delivery.reason or "")
    assert token not in repr(client.targets[0].shown)


def test_console_prints_title_and_plain_text_to_the_given_writer() -> None:
    lines: list[str] = []
    (delivery,) = ChatClient(["console"], console=lines.append).send(MESSAGE)
    assert delivery.ok
    assert lines == ["api 1.4.2 is live\napi 1.4.2 body"]


def test_the_same_url_twice_is_sent_once(chat: FakeChat) -> None:
    ChatClient([chat.json_url(), chat.json_url()]).send(MESSAGE)
    assert len(chat.posts()) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("slack://T000/B000", "is not a valid slack:// URL"),
        ("nosuchservice://host/secretpart", "no service called 'nosuchservice'"),
        ("just-some-words", "is not a URL"),
        ("json://", "is not a valid json:// URL"),
    ],
)
def test_a_malformed_url_is_an_input_error_naming_it(url: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ChatClient(["console", url])
    assert isinstance(caught.value, InputError)
    assert expected in str(caught.value)
    assert chat_url_problem(url) is not None


def test_a_malformed_url_is_named_with_its_secret_parts_masked() -> None:
    shown = mask_chat_url("discord://12345678/topsecrettoken/extra")
    assert shown == "discord://***/***/***"
    assert mask_chat_url("mmost://chat.example.com:8065/hooks/abcdef") == (
        "mmost://chat.example.com:8065/***/***")
    with pytest.raises(ConfigError) as caught:
        ChatClient(["nosuchservice://user:hunter2hunter2@host.example.com/tokentokentoken"])
    assert "hunter2hunter2" not in str(caught.value)
    assert "tokentokentoken" not in str(caught.value)
    assert "host.example.com" in str(caught.value)


def test_every_bad_url_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        ChatClient(["slack://T000/B000", "nosuchservice://x"])
    assert "slack://" in str(caught.value) and "nosuchservice" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "markdown"),
    [
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7F", True),
        ("https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7F", True),
        ("workflows://prod-00.westus.logic.azure.com:443/a1b2c3d4/sigsigsig", True),
        ("gchat://workspace/webhookkey/webhooktoken", True),
        ("discord://123456789012/webhooktokenabc", True),
        ("matrixs://token@matrix.example.com/#deploys", True),
        ("mmosts://chat.example.com/abcdefghijkl", False),
    ],
)
def test_the_documented_service_urls_are_accepted_and_their_format_known(
    url: str, markdown: bool
) -> None:
    assert chat_url_problem(url) is None
    (target,) = ChatClient([url]).targets
    assert target.markdown is markdown
    for secret in ("TIiajkdnlazkcOXrIdevi7F", "sigsigsig", "webhooktoken", "abcdefghijkl"):
        assert secret not in target.shown
