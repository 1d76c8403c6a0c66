"""SMS senders, pluggable like push: SMS_SENDER = "log" | "aliyun" | "package.module:Class".

- `log` (the default): development — the code is written to the log, never to a phone; under
  APP_ENV=production it writes only that nothing was sent.
- `aliyun`: Aliyun SMS (阿里云短信服务), the Dysmsapi 2017-05-25 `SendSms` action signed with
  Aliyun's documented V3 request signature (ACS3-HMAC-SHA256), configured by the ALIYUN_SMS_* settings.
- any other class with `send(message)`, instantiated without arguments.

Sending runs on a small thread pool after the request has committed, so asking for a code answers
as fast for a number with an account as for one without (no enumeration by timing), and a slow
provider never holds a worker thread.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import Flask, current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    purpose: str  # login | reset
    code: str
    valid_minutes: int


class SmsSender(Protocol):
    def send(self, message: SmsMessage) -> None: ...


class SenderConfigError(RuntimeError):
    """SMS_SENDER or the provider's settings do not describe a usable sender."""


class SmsDeliveryError(RuntimeError):
    """The provider refused the message: `code` is its error code (e.g. isv.BUSINESS_LIMIT_CONTROL)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class LogSender:
    """Development: the code goes to the log instead of a phone."""

    def __init__(self, *, reveal_codes: bool = True) -> None:
        self.reveal_codes = reveal_codes

    def send(self, message: SmsMessage) -> None:
        if not self.reveal_codes:
            log.warning(
                "sms_not_sent", extra={"reason": "SMS_SENDER=log under APP_ENV=production", "purpose": message.purpose}
            )
            return
        log.warning("sms_code", extra={"phone": message.phone, "purpose": message.purpose, "sms_code": message.code})


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class AliyunSmsSender:
    """Aliyun SMS `SendSms` over HTTPS with the V3 signature (签名机制 V3, ACS3-HMAC-SHA256).

    The request parameters travel as a form body; the signature covers the method, path, query,
    the `host`, `content-type` and `x-acs-*` headers and the SHA-256 of the body. A `Code` other
    than "OK" — in a 200 answer (business errors) or an error status — raises SmsDeliveryError.
    """

    ACTION, VERSION, ALGORITHM = "SendSms", "2017-05-25", "ACS3-HMAC-SHA256"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        templates: dict[str, str],
        timeout: float = 5.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.access_key_id, self.access_key_secret = access_key_id, access_key_secret
        self.sign_name, self.templates, self.timeout = sign_name, templates, timeout

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AliyunSmsSender:
        names = (
            "ALIYUN_SMS_ACCESS_KEY_ID",
            "ALIYUN_SMS_ACCESS_KEY_SECRET",
            "ALIYUN_SMS_SIGN_NAME",
            "ALIYUN_SMS_TEMPLATE_LOGIN",
            "ALIYUN_SMS_TEMPLATE_RESET",
        )
        missing = [name for name in names if not config.get(name)]
        if missing:
            raise SenderConfigError(f"SMS_SENDER=aliyun needs {', '.join(missing)}")
        return cls(
            endpoint=config["ALIYUN_SMS_ENDPOINT"],
            access_key_id=config["ALIYUN_SMS_ACCESS_KEY_ID"],
            access_key_secret=config["ALIYUN_SMS_ACCESS_KEY_SECRET"],
            sign_name=config["ALIYUN_SMS_SIGN_NAME"],
            templates={"login": config["ALIYUN_SMS_TEMPLATE_LOGIN"], "reset": config["ALIYUN_SMS_TEMPLATE_RESET"]},
            timeout=config["ALIYUN_SMS_TIMEOUT_SECONDS"],
        )

    def parameters(self, message: SmsMessage) -> dict[str, str]:
        return {
            "PhoneNumbers": message.phone,
            "SignName": self.sign_name,
            "TemplateCode": self.templates[message.purpose],
            "TemplateParam": json.dumps({"code": message.code}, separators=(",", ":")),
        }

    def signed_request(self, body: bytes, *, now: datetime | None = None) -> urllib.request.Request:
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        headers = {
            "host": urllib.parse.urlsplit(self.endpoint).netloc,
            "content-type": "application/x-www-form-urlencoded",
            "x-acs-action": self.ACTION,
            "x-acs-version": self.VERSION,
            "x-acs-date": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": uuid.uuid4().hex,
            "x-acs-content-sha256": _sha256_hex(body),
        }
        signed_names = sorted(headers)
        canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed_names)
        signed_headers = ";".join(signed_names)
        canonical_request = "\n".join(
            ["POST", "/", "", canonical_headers, signed_headers, headers["x-acs-content-sha256"]]
        )
        string_to_sign = f"{self.ALGORITHM}\n{_sha256_hex(canonical_request.encode())}"
        signature = hmac.new(self.access_key_secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"{self.ALGORITHM} Credential={self.access_key_id},SignedHeaders={signed_headers},Signature={signature}"
        )
        return urllib.request.Request(self.endpoint + "/", data=body, method="POST", headers=headers)

    def send(self, message: SmsMessage) -> None:
        body = urllib.parse.urlencode(self.parameters(message)).encode()
        try:
            with urllib.request.urlopen(self.signed_request(body), timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                answer = json.loads(error.read() or b"{}")
            except ValueError:
                answer = {}
            raise SmsDeliveryError(
                answer.get("Code") or f"HTTP{error.code}", answer.get("Message") or str(error)
            ) from None
        if answer.get("Code") != "OK":
            raise SmsDeliveryError(str(answer.get("Code")), str(answer.get("Message")))


def load_sender(config: dict[str, Any]) -> SmsSender:
    """The sender SMS_SENDER names; a wrong setting stops the app at start-up, naming it."""
    choice = config.get("SMS_SENDER") or "log"
    if choice == "log":
        return LogSender(reveal_codes=config.get("APP_ENV") != "production")
    if choice == "aliyun":
        return AliyunSmsSender.from_config(config)
    module_name, separator, attribute = choice.partition(":")
    if not separator or not module_name or not attribute:
        raise SenderConfigError(f"SMS_SENDER must be 'log', 'aliyun' or 'package.module:Class', got {choice!r}")
    try:
        cls = getattr(importlib.import_module(module_name), attribute, None)
    except ImportError as error:
        raise SenderConfigError(f"SMS_SENDER={choice!r}: cannot import {module_name!r} ({error})") from error
    if not isinstance(cls, type) or not callable(getattr(cls, "send", None)):
        raise SenderConfigError(f"SMS_SENDER={choice!r}: not a class with a send(message) method")
    return cls()


def init_app(app: Flask) -> None:
    app.extensions["sms_sender"] = load_sender(app.config)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sms")
        return _pool


def _send_logged(sender: SmsSender, message: SmsMessage) -> None:
    try:
        sender.send(message)
    except Exception as error:  # noqa: BLE001 - a failed SMS is logged; the person can ask again
        log.warning(
            "sms_send_failed",
            extra={"provider_code": getattr(error, "code", type(error).__name__), "phone_tail": message.phone[-4:]},
        )


def dispatch(message: SmsMessage) -> Future:
    """Hand `message` to this app's sender in the background (call after the commit)."""
    return _executor().submit(_send_logged, current_app.extensions["sms_sender"], message)
