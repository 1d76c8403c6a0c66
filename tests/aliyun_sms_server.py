"""A local stand-in for Aliyun SMS (Dysmsapi 2017-05-25 `SendSms`) that checks what Aliyun's
documentation requires of a request and answers with Aliyun's documented bodies.

Written from the documentation of the V3 request signature (签名机制 V3, ACS3-HMAC-SHA256) and of
SendSms, not from our sender: tests/test_sms_aliyun.py first checks this server with Aliyun's own
SDK (`alibabacloud-dysmsapi20170525`), so the contract is Aliyun's.

Checked: the Authorization header's form; that every `x-acs-*` header, `host` and `content-type`
(when present) are signed; the known AccessKeyId (404 InvalidAccessKeyId.NotFound); the signature
over the canonical request (400 SignatureDoesNotMatch); `x-acs-content-sha256` against the body;
`x-acs-date` within 15 minutes and a fresh `x-acs-signature-nonce`; the action and version; the
required parameters (400 MissingPhoneNumbers …). Business errors come, as Aliyun sends them, in a
200 answer: isv.MOBILE_NUMBER_ILLEGAL, isv.SMS_SIGNATURE_ILLEGAL, isv.SMS_TEMPLATE_ILLEGAL,
isv.TEMPLATE_MISSING_PARAMETERS, isv.BUSINESS_LIMIT_CONTROL (one message a minute per number).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import re
import threading
import time
import urllib.parse
import uuid
from datetime import UTC, datetime

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ALGORITHM = "ACS3-HMAC-SHA256"
AUTHORIZATION = re.compile(rf"^{ALGORITHM} Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{{64}})$")
REQUIRED_SIGNED = {
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
}
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def _encode(value: str) -> str:
    """RFC 3986 percent-encoding, as the documentation prescribes for the canonical query string."""
    return urllib.parse.quote(value, safe="-_.~")


class AliyunSmsServer:
    def __init__(self, *, access_keys: dict[str, str], sign_names: set[str], templates: dict[str, set[str]]) -> None:
        self.access_keys, self.sign_names, self.templates = access_keys, sign_names, templates
        self.delivered: queue.Queue = queue.Queue()
        self._nonces: set[str] = set()
        self._last_sent: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.endpoint = f"127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> AliyunSmsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    # --- answers -------------------------------------------------------------------------------

    def _error(self, status: int, code: str, message: str) -> Response:
        body = {
            "RequestId": str(uuid.uuid4()).upper(),
            "HostId": "dysmsapi.aliyuncs.com",
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
        }
        return Response(json.dumps(body), status=status, content_type="application/json;charset=utf-8")

    def _business(self, code: str, message: str, biz_id: str | None = None) -> Response:
        body = {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper()}
        if biz_id:
            body["BizId"] = biz_id
        return Response(json.dumps(body), status=200, content_type="application/json;charset=utf-8")

    # --- checks --------------------------------------------------------------------------------

    def _canonical_request(self, request: Request, signed: list[str], body: bytes) -> str:
        query = sorted((_encode(k), _encode(v)) for k, v in request.args.items(multi=True))
        canonical_query = "&".join(f"{k}={v}" for k, v in query)
        canonical_headers = "".join(f"{name}:{(request.headers.get(name) or '').strip()}\n" for name in signed)
        payload_hash = hashlib.sha256(body).hexdigest()
        return "\n".join(
            [request.method, request.path or "/", canonical_query, canonical_headers, ";".join(signed), payload_hash]
        )

    def _authenticate(self, request: Request, body: bytes) -> Response | None:
        match = AUTHORIZATION.match(request.headers.get("Authorization", ""))
        if match is None:
            return self._error(
                400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."
            )
        key_id, signed_text, signature = match.groups()
        signed = signed_text.split(";")
        present = {name.lower() for name, _value in request.headers.items()}
        must_sign = REQUIRED_SIGNED | {n for n in present if n.startswith("x-acs-")} | ({"content-type"} & present)
        if signed != sorted(signed) or not must_sign <= set(signed):
            return self._error(
                400, "IncompleteSignature", f"SignedHeaders must list, sorted: {';'.join(sorted(must_sign))}"
            )
        if not REQUIRED_SIGNED <= present:
            return self._error(400, "MissingParameter", f"Missing headers: {sorted(REQUIRED_SIGNED - present)}")
        secret = self.access_keys.get(key_id)
        if secret is None:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        string_to_sign = (
            f"{ALGORITHM}\n{hashlib.sha256(self._canonical_request(request, signed, body).encode()).hexdigest()}"
        )
        expected = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return self._error(
                400,
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}",
            )
        if request.headers["x-acs-content-sha256"] != hashlib.sha256(body).hexdigest():
            return self._error(400, "SignatureDoesNotMatch", "x-acs-content-sha256 is not the SHA-256 of the body.")
        try:
            sent_at = datetime.strptime(request.headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return self._error(
                400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            )
        if abs((datetime.now(UTC) - sent_at).total_seconds()) > 15 * 60:
            return self._error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        with self._lock:
            nonce = request.headers["x-acs-signature-nonce"]
            if nonce in self._nonces:
                return self._error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(nonce)
        return None

    def _send_sms(self, params: dict[str, str]) -> Response:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return self._error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        phone = params["PhoneNumbers"]
        if not MOBILE.match(phone):
            return self._business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if params["SignName"] not in self.sign_names:
            return self._business("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        variables = self.templates.get(params["TemplateCode"])
        if variables is None:
            return self._business("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return self._business("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not isinstance(values, dict) or not variables <= set(values):
            return self._business("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        with self._lock:
            now = time.monotonic()
            if now - self._last_sent.get(phone, -120.0) < 60:
                return self._business("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
            self._last_sent[phone] = now
        self.delivered.put(
            {"phone": phone, "sign_name": params["SignName"], "template": params["TemplateCode"], "params": values}
        )
        return self._business("OK", "OK", biz_id=f"{uuid.uuid4().int % 10**16}^0")

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        body = request.get_data(cache=True)
        denied = self._authenticate(request, body)
        if denied is None:
            action, version = request.headers.get("x-acs-action"), request.headers.get("x-acs-version")
            if action != "SendSms" or version != "2017-05-25":
                denied = self._error(400, "InvalidAction.NotFound", f"Specified api {action} ({version}) is not found.")
        if denied is not None:
            return denied(environ, start_response)
        params = dict(request.args.items())
        if request.mimetype == "application/x-www-form-urlencoded":
            params.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        return self._send_sms(params)(environ, start_response)
