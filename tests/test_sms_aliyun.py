"""The Aliyun SMS sender against a local server that checks Aliyun's documented contract.

The server (tests/aliyun_sms_server.py) is first checked with Aliyun's own SDK from PyPI
(`alibabacloud-dysmsapi20170525`, pinned in requirements-dev.txt) pointed at it: requests the SDK
signs are accepted, badly signed ones get Aliyun's documented errors. Then our sender — our own
code — must pass the same server, alone and end to end through HTTP.
"""

from __future__ import annotations

import pytest

from service_app.auth.sms_senders import (
    AliyunSmsSender,
    LogSender,
    SenderConfigError,
    SmsDeliveryError,
    SmsMessage,
    load_sender,
)
from tests.aliyun_sms_server import AliyunSmsServer
from tests.factories import UserFactory
from tests.helpers import assert_error

KEY_ID, SECRET, SIGN = "LTAI5tLianqiTestKey", "lianqi-test-secret-0123456789", "联企服务"
TEMPLATES = {"login": "SMS_465910001", "reset": "SMS_465910002"}


@pytest.fixture(scope="module")
def aliyun():
    server = AliyunSmsServer(
        access_keys={KEY_ID: SECRET}, sign_names={SIGN}, templates={code: {"code"} for code in TEMPLATES.values()}
    ).start()
    yield server
    server.stop()


def sdk_client(server: AliyunSmsServer, secret: str = SECRET, key_id: str = KEY_ID):
    from alibabacloud_dysmsapi20170525.client import Client
    from alibabacloud_tea_openapi import utils_models

    return Client(
        utils_models.Config(access_key_id=key_id, access_key_secret=secret, endpoint=server.endpoint, protocol="http")
    )


def sdk_send(client, phone: str, template: str = TEMPLATES["login"], sign: str = SIGN):
    from alibabacloud_dysmsapi20170525 import models

    request = models.SendSmsRequest(
        phone_numbers=phone, sign_name=sign, template_code=template, template_param='{"code":"246810"}'
    )
    return client.send_sms(request).body


def our_sender(server: AliyunSmsServer, secret: str = SECRET) -> AliyunSmsSender:
    return AliyunSmsSender(
        endpoint=f"http://{server.endpoint}",
        access_key_id=KEY_ID,
        access_key_secret=secret,
        sign_name=SIGN,
        templates=TEMPLATES,
    )


# --- the contract server, checked with Aliyun's SDK --------------------------------------------


def test_the_sdk_is_accepted_and_gets_the_documented_success_body(aliyun):
    body = sdk_send(sdk_client(aliyun), "13811110001")
    assert body.code == "OK" and body.message == "OK" and body.biz_id and body.request_id
    assert aliyun.delivered.get(timeout=5) == {
        "phone": "13811110001",
        "sign_name": SIGN,
        "template": TEMPLATES["login"],
        "params": {"code": "246810"},
    }


@pytest.mark.parametrize(
    "key_id,secret,code",
    [(KEY_ID, "wrong-secret", "SignatureDoesNotMatch"), ("LTAI-unknown", SECRET, "InvalidAccessKeyId.NotFound")],
)
def test_the_sdk_badly_signed_gets_the_documented_errors(aliyun, key_id, secret, code):
    from alibabacloud_tea_openapi.exceptions import ClientException

    with pytest.raises(ClientException) as raised:
        sdk_send(sdk_client(aliyun, secret=secret, key_id=key_id), "13811110002")
    assert raised.value.code == code


@pytest.mark.parametrize(
    "phone,template,sign,code",
    [
        ("12345", TEMPLATES["login"], SIGN, "isv.MOBILE_NUMBER_ILLEGAL"),
        ("13811110003", "SMS_000000", SIGN, "isv.SMS_TEMPLATE_ILLEGAL"),
        ("13811110004", TEMPLATES["login"], "别的签名", "isv.SMS_SIGNATURE_ILLEGAL"),
    ],
)
def test_the_sdk_gets_business_errors_in_a_200_body(aliyun, phone, template, sign, code):
    assert sdk_send(sdk_client(aliyun), phone, template, sign).code == code


def test_the_sdk_meets_the_minute_flow_control(aliyun):
    client = sdk_client(aliyun)
    assert sdk_send(client, "13811110005").code == "OK"
    assert sdk_send(client, "13811110005").code == "isv.BUSINESS_LIMIT_CONTROL"
    aliyun.delivered.get(timeout=5)


# --- our sender against the same server ----------------------------------------------------------


def test_our_sender_is_accepted(aliyun):
    our_sender(aliyun).send(SmsMessage(phone="13811110010", purpose="reset", code="135790", valid_minutes=5))
    assert aliyun.delivered.get(timeout=5) == {
        "phone": "13811110010",
        "sign_name": SIGN,
        "template": TEMPLATES["reset"],
        "params": {"code": "135790"},
    }


def test_our_sender_raises_the_providers_error_codes(aliyun):
    with pytest.raises(SmsDeliveryError) as raised:
        our_sender(aliyun, secret="wrong-secret").send(SmsMessage("13811110011", "login", "135790", 5))
    assert raised.value.code == "SignatureDoesNotMatch"
    sender = our_sender(aliyun)
    sender.send(SmsMessage("13811110012", "login", "135790", 5))
    with pytest.raises(SmsDeliveryError) as raised:
        sender.send(SmsMessage("13811110012", "login", "135791", 5))
    assert raised.value.code == "isv.BUSINESS_LIMIT_CONTROL"
    aliyun.delivered.get(timeout=5)


def test_sms_login_and_reset_end_to_end_through_the_provider(client, app, app_ctx, aliyun, monkeypatch):
    monkeypatch.setitem(app.extensions, "sms_sender", our_sender(aliyun))
    UserFactory(username="viasms", phone="13811110020")
    assert client.post("/api/v1/auth/sms-code", json={"phone": "13811110020", "purpose": "login"}).status_code == 202
    code = aliyun.delivered.get(timeout=10)["params"]["code"]
    response = client.post("/api/v1/auth/login/sms", json={"phone": "13811110020", "code": code})
    assert response.status_code == 200 and response.get_json()["user"]["username"] == "viasms"

    UserFactory(username="forgotsms", phone="13811110021")
    assert client.post("/api/v1/auth/sms-code", json={"phone": "13811110021", "purpose": "reset"}).status_code == 202
    code = aliyun.delivered.get(timeout=10)["params"]["code"]
    reset = client.post(
        "/api/v1/auth/password/reset", json={"phone": "13811110021", "code": code, "new_password": "ViaSms@2026"}
    )
    assert reset.status_code == 204
    assert (
        client.post("/api/v1/auth/login", json={"username": "forgotsms", "password": "ViaSms@2026"}).status_code == 200
    )
    assert_error(client.post("/api/v1/auth/login/sms", json={"phone": "13811110021", "code": code}), 401)


# --- choosing the sender -------------------------------------------------------------------------


def test_the_sender_comes_from_the_configuration():
    settings = {
        "SMS_SENDER": "aliyun",
        "ALIYUN_SMS_ENDPOINT": "https://dysmsapi.aliyuncs.com",
        "ALIYUN_SMS_ACCESS_KEY_ID": KEY_ID,
        "ALIYUN_SMS_ACCESS_KEY_SECRET": SECRET,
        "ALIYUN_SMS_SIGN_NAME": SIGN,
        "ALIYUN_SMS_TEMPLATE_LOGIN": "SMS_1",
        "ALIYUN_SMS_TEMPLATE_RESET": "SMS_2",
        "ALIYUN_SMS_TIMEOUT_SECONDS": 5.0,
    }
    sender = load_sender(settings)
    assert isinstance(sender, AliyunSmsSender) and sender.templates == {"login": "SMS_1", "reset": "SMS_2"}
    with pytest.raises(SenderConfigError, match="ALIYUN_SMS_SIGN_NAME"):
        load_sender({**settings, "ALIYUN_SMS_SIGN_NAME": None})
    with pytest.raises(SenderConfigError, match="SMS_SENDER"):
        load_sender({"SMS_SENDER": "carrier-pigeon"})
    assert load_sender({"SMS_SENDER": "log", "APP_ENV": "development"}).reveal_codes is True
    production = load_sender({"SMS_SENDER": "log", "APP_ENV": "production"})
    assert isinstance(production, LogSender) and production.reveal_codes is False
