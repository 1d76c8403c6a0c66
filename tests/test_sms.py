"""SMS codes end to end through HTTP with the development sender (the code is read from the log):
login, password reset, no enumeration, limits, tries, expiry and reuse."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service_app.auth.models import SmsCode
from service_app.common.time import utcnow
from service_app.extensions import db
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_error, login
from tests.sms_inbox import LogInbox

PHONE = "13973310001"


@pytest.fixture
def inbox():
    handler = LogInbox()
    logger = logging.getLogger("service_app.auth.sms_senders")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def ask(client, phone: str, purpose: str = "login", address: str = "127.0.0.1"):
    response = client.post(
        "/api/v1/auth/sms-code", json={"phone": phone, "purpose": purpose}, environ_base={"REMOTE_ADDR": address}
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def codes_for(phone: str) -> int:
    return db.session.scalar(select(func.count()).select_from(SmsCode).where(SmsCode.phone == phone))


def sms_login(client, phone: str, code: str):
    return client.post("/api/v1/auth/login/sms", json={"phone": phone, "code": code})


def test_sms_login_end_to_end(client, app_ctx, inbox):
    user = UserFactory(phone=PHONE)
    assert ask(client, PHONE) == {"expires_in": 300, "resend_after": 60}
    code = inbox.next_code(PHONE)
    assert len(code) == 6 and code.isdigit()
    stored = db.session.scalar(select(SmsCode).where(SmsCode.phone == PHONE))
    assert code not in stored.code_hash and len(stored.code_hash) == 64  # only an HMAC is kept
    response = sms_login(client, PHONE, code)
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["id"] == user.id and body["password_change_required"] is False
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}).status_code == 200
    # A code works once.
    assert_error(sms_login(client, PHONE, code), 401, "bad_sms_code")


def test_password_reset_end_to_end_ends_every_session(client, app_ctx, inbox):
    UserFactory(username="forgetful", phone=PHONE, must_change_password=True)
    old = login(client, "forgetful")
    ask(client, PHONE, "reset")
    code = inbox.next_code(PHONE)
    weak = client.post("/api/v1/auth/password/reset", json={"phone": PHONE, "code": code, "new_password": "forgetful"})
    assert assert_error(weak, 422)["password_rule"] in {"letters_and_digits", "same_as_username"}
    # The code survives a refused password and sets a good one.
    response = client.post(
        "/api/v1/auth/password/reset", json={"phone": PHONE, "code": code, "new_password": "Remember@2026"}
    )
    assert response.status_code == 204
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {old['access_token']}"}), 401)
    assert login(client, "forgetful", "Remember@2026")["password_change_required"] is False
    assert_error(client.post("/api/v1/auth/login", json={"username": "forgetful", "password": PASSWORD}), 401)
    reused = client.post(
        "/api/v1/auth/password/reset", json={"phone": PHONE, "code": code, "new_password": "Another@2026"}
    )
    assert list(assert_error(reused, 422)["errors"]) == ["code"]


def test_a_login_code_does_not_reset_and_a_reset_code_does_not_log_in(client, app_ctx, inbox):
    UserFactory(phone=PHONE)
    ask(client, PHONE, "login")
    code = inbox.next_code(PHONE)
    response = client.post(
        "/api/v1/auth/password/reset", json={"phone": PHONE, "code": code, "new_password": "Remember@2026"}
    )
    assert list(assert_error(response, 422)["errors"]) == ["code"]


def test_wrong_expired_and_reused_codes_answer_alike(client, app_ctx, inbox):
    UserFactory(phone=PHONE)
    messages = set()

    def reset(code: str):
        response = client.post(
            "/api/v1/auth/password/reset", json={"phone": PHONE, "code": code, "new_password": "Remember@2026"}
        )
        body = assert_error(response, 422, "validation_failed")
        messages.add((body["message"], tuple(body["errors"]["code"])))

    ask(client, PHONE, "reset")
    code = inbox.next_code(PHONE)
    reset("000000" if code != "000000" else "111111")  # wrong
    db.session.execute(
        SmsCode.__table__.update().where(SmsCode.phone == PHONE).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    reset(code)  # expired
    reset("123456")  # no live code at all (as for a number without an account)
    assert len(messages) == 1


def test_a_phone_without_an_account_gets_the_same_202_and_nothing_is_sent(client, app_ctx):
    UserFactory(phone=PHONE)
    assert ask(client, "13973319999") == ask(client, PHONE)
    assert codes_for("13973319999") == 0 and codes_for(PHONE) == 1


def test_a_disabled_account_gets_no_code(client, app_ctx):
    UserFactory(phone=PHONE, is_active=False)
    ask(client, PHONE)
    assert codes_for(PHONE) == 0


def test_one_code_per_phone_per_minute_and_a_daily_cap_per_address(client, app, app_ctx, monkeypatch):
    UserFactory(phone=PHONE)
    ask(client, PHONE)
    ask(client, PHONE)  # within the minute: still 202, nothing sent
    assert codes_for(PHONE) == 1
    monkeypatch.setitem(app.config, "SMS_LIMIT_PER_ADDRESS", "3 per day")
    UserFactory(phone="13973310002")
    for number in range(3, 6):
        ask(client, f"1397331000{number}", address="192.0.2.9")
    ask(client, "13973310002", address="192.0.2.9")  # the address's fourth request of the day
    assert codes_for("13973310002") == 0
    ask(client, "13973310002", address="192.0.2.10")
    assert codes_for("13973310002") == 1


def test_a_daily_cap_per_phone(client, app, app_ctx, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_LIMIT_PER_PHONE", "2 per day")
    UserFactory(phone=PHONE)
    for _ in range(3):
        ask(client, PHONE)
    assert codes_for(PHONE) == 2


def test_five_tries_and_the_sixth_burns_the_code(client, app_ctx, inbox):
    UserFactory(phone=PHONE)
    ask(client, PHONE)
    code = inbox.next_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert_error(
            client.post(
                "/api/v1/auth/login/sms",
                json={"phone": PHONE, "code": wrong},
                environ_base={"REMOTE_ADDR": "192.0.2.50"},
            ),
            401,
        )
    # Five tries used: the sixth burns the code even though it is right.
    assert_error(sms_login(client, PHONE, code), 401, "bad_sms_code")
    assert db.session.scalar(select(SmsCode.used_at).where(SmsCode.phone == PHONE)) is not None


def test_four_wrong_tries_leave_the_fifth_good(client, app_ctx, inbox):
    UserFactory(phone=PHONE)
    ask(client, PHONE)
    code = inbox.next_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        assert_error(
            client.post(
                "/api/v1/auth/login/sms",
                json={"phone": PHONE, "code": wrong},
                environ_base={"REMOTE_ADDR": "192.0.2.51"},
            ),
            401,
        )
    assert sms_login(client, PHONE, code).status_code == 200


def test_a_newer_code_replaces_the_older(client, app, app_ctx, inbox, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_LIMIT_PER_PHONE", "5 per day")
    UserFactory(phone=PHONE)
    ask(client, PHONE)
    first = inbox.next_code(PHONE)
    ask(client, PHONE)
    second = inbox.next_code(PHONE)
    if first != second:
        assert_error(sms_login(client, PHONE, first), 401)
    assert sms_login(client, PHONE, second).status_code == 200


def test_expired_codes_are_purged_a_day_later(client, app_ctx):
    from service_app.auth.sms import purge_expired_codes

    UserFactory(phone=PHONE)
    ask(client, PHONE)
    assert purge_expired_codes(now=utcnow() + timedelta(hours=23)) == 0
    assert purge_expired_codes(now=utcnow() + timedelta(days=1, minutes=6)) == 1
    assert codes_for(PHONE) == 0


@pytest.mark.parametrize(
    "body", [{"phone": "0731-2868", "purpose": "login"}, {"phone": PHONE, "purpose": "signup"}, {"phone": PHONE}]
)
def test_malformed_requests_are_422(client, body):
    assert assert_error(client.post("/api/v1/auth/sms-code", json=body), 422)["errors"]
