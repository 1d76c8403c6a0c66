"""The local JPush server answers JPush's own SDK (PyPI `jpush`) as JPush does, so its contract is JPush's."""

from __future__ import annotations

import jpush
import pytest
from jpush import common

from tests.jpush_server import INTERNAL_ERROR, RATE_LIMITED, JPushServer


@pytest.fixture
def server(monkeypatch):
    with JPushServer() as running:
        running.registered.add("1a0018970a8b1234")
        # The SDK builds its URLs from this table; point its push endpoint at the local server.
        monkeypatch.setitem(common.ZONES["DEFAULT"], "PUSH", running.base_url + "/v3/")
        yield running


def sdk_push(server: JPushServer, *, secret: str | None = None, registration_id: str = "1a0018970a8b1234"):
    client = jpush.JPush(server.app_key, secret or server.master_secret)
    push = client.create_push()
    push.audience = jpush.audience(jpush.registration_id(registration_id))
    push.notification = jpush.notification(
        alert="问题已受理", android=jpush.android(alert="问题已受理", title="联企"), ios=jpush.ios(alert="问题已受理")
    )
    push.platform = jpush.platform("android", "ios")
    push.options = {"time_to_live": 3600, "apns_production": False, "sendno": 7}
    return push.send()


def test_the_sdk_push_is_accepted_with_a_message_id(server):
    response = sdk_push(server)
    assert response.status_code == 200
    assert response.payload["sendno"] == "7" and response.payload["msg_id"].isdigit()
    body = server.received[0]
    assert body["audience"] == {"registration_id": ["1a0018970a8b1234"]}
    assert body["notification"]["android"] == {"alert": "问题已受理", "title": "联企"}


def test_wrong_credentials_are_what_the_sdk_calls_unauthorized(server):
    with pytest.raises(common.Unauthorized):
        sdk_push(server, secret="wrong-secret")
    assert server.answered == [1004]


def test_unknown_registration_id_is_1011(server):
    with pytest.raises(common.JPushFailure) as failure:
        sdk_push(server, registration_id="never-registered")
    assert failure.value.error_code == 1011 and failure.value.response.status_code == 400


@pytest.mark.parametrize("answer", [RATE_LIMITED, INTERNAL_ERROR])
def test_scripted_rate_limit_and_server_error_reach_the_sdk_as_documented(server, answer):
    server.script("1a0018970a8b1234", answer)
    with pytest.raises(common.JPushFailure) as failure:
        sdk_push(server)
    assert (failure.value.response.status_code, failure.value.error_code) == answer[:2]
    assert sdk_push(server).status_code == 200  # the next push goes through


def test_a_request_the_documentation_forbids_is_refused(server):
    client = jpush.JPush(server.app_key, server.master_secret)
    push = client.create_push()
    push.audience = jpush.audience(jpush.registration_id("1a0018970a8b1234"))
    push.message = jpush.message("hello")
    push.platform = ["android", "symbian"]  # past the SDK's own check
    with pytest.raises(common.JPushFailure) as failure:
        push.send()
    assert failure.value.error_code == 1003
    push.platform = "all"
    push.options = {"time_to_live": -1}
    with pytest.raises(common.JPushFailure) as failure:
        push.send()
    assert failure.value.error_code == 1003
    assert server.received == []
