"""A local JPush REST API v3 push endpoint (`POST /v3/push`) for the tests, on 127.0.0.1.

It checks what JPush's documentation requires of a push request — HTTP basic auth with the app
key and master secret, a JSON body with `platform`, `audience` and a `notification` or `message`,
platform names, registration ids (1 to 1000), notification overrides with their `alert`, options
such as `time_to_live` (0 to 10 days) and `apns_production` — and answers as JPush documents:
200 `{"sendno", "msg_id"}`; errors `{"error": {"code", "message"}}` with 401/1004 for bad
credentials, 400/1002 missing field, 400/1003 bad value, 400/1011 no such registration id, and,
when a test scripts them, 429/2002 rate limit, 500/1000 internal error, 503/1030 timeout.
tests/test_jpush_contract.py checks this server with JPush's own SDK.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PLATFORMS = {"android", "ios", "quickapp", "hmos"}
AUDIENCE_KEYS = {"tag", "tag_and", "tag_not", "alias", "registration_id", "segment", "abtest"}
NOTIFICATION_KEYS = {"alert", "android", "ios", "hmos", "quickapp", "voip"}
TOP_KEYS = {
    "platform", "audience", "notification", "message", "options", "cid", "sms_message", "callback", "notification_3rd"
}
MAX_TIME_TO_LIVE = 10 * 24 * 3600
# Documented answers a test can script for a registration id: (HTTP status, JPush code, message).
RATE_LIMITED = (429, 2002, "Request times of API exceeds the limit")
INTERNAL_ERROR = (500, 1000, "Server Internal Error")
TIMED_OUT = (503, 1030, "internal service timeout")


class Rejected(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class JPushServer:
    """Serve in a thread; `registered` holds the valid registration ids, `received` what was accepted."""

    def __init__(self, *, app_key: str = "test-app-key", master_secret: str = "test-master-secret") -> None:
        self.app_key, self.master_secret = app_key, master_secret
        self.registered: set[str] = set()
        self.received: list[dict[str, Any]] = []
        self.answered: list[int] = []  # the JPush code of every answer, 0 for success
        self.scripted: dict[str, deque[tuple[int, int, str]]] = defaultdict(deque)
        self._ids = itertools.count(54043196154430000)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> JPushServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, registration_id: str, *answers: tuple[int, int, str]) -> None:
        """The next pushes to `registration_id` get these answers, in order, then the normal one."""
        self.scripted[registration_id].extend(answers)

    def handle(self, headers, raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            body = self._check(headers, raw)
            with self._lock:
                for registration_id in body["audience"].get("registration_id", []):
                    if self.scripted[registration_id]:
                        raise Rejected(*self.scripted[registration_id].popleft())
                self.received.append(body)
                self.answered.append(0)
                sendno = str(body.get("options", {}).get("sendno", 0))
                return 200, {"sendno": sendno, "msg_id": str(next(self._ids))}
        except Rejected as error:
            with self._lock:
                self.answered.append(error.code)
            answer = {"error": {"code": error.code, "message": error.message}, "msg_id": str(next(self._ids))}
            return error.status, answer

    def _check(self, headers, raw: bytes) -> dict[str, Any]:
        expected = base64.b64encode(f"{self.app_key}:{self.master_secret}".encode()).decode("ascii")
        if headers.get("Authorization") != f"Basic {expected}":
            raise Rejected(401, 1004, "Authen failed")
        if not (headers.get("Content-Type") or "").startswith("application/json"):
            raise Rejected(400, 1003, "content type must be application/json")
        try:
            body = json.loads(raw)
        except ValueError:
            raise Rejected(400, 1003, "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Rejected(400, 1003, "Request body must be a JSON object")
        if set(body) - TOP_KEYS:
            raise Rejected(400, 1003, f"unsupported keys: {sorted(set(body) - TOP_KEYS)}")
        for required in ("platform", "audience"):
            if required not in body:
                raise Rejected(400, 1002, f"Missing parameter: {required}")
        if "notification" not in body and "message" not in body:
            raise Rejected(400, 1002, "notification and message cannot be both empty")
        platforms = _check_platform(body["platform"])
        _check_audience(body["audience"], self.registered)
        if "notification" in body:
            _check_notification(body["notification"], platforms)
        _check_options(body.get("options", {}))
        return body


def _check_platform(platform) -> set[str]:
    if platform == "all":
        return set(PLATFORMS)
    if not isinstance(platform, list) or not platform or not set(platform) <= PLATFORMS:
        raise Rejected(400, 1003, f"invalid platform: {platform!r}")
    return set(platform)


def _check_audience(audience, registered: set[str]) -> None:
    if audience == "all":
        return
    if not isinstance(audience, dict) or not audience or set(audience) - AUDIENCE_KEYS:
        raise Rejected(400, 1003, f"invalid audience: {audience!r}")
    ids = audience.get("registration_id")
    if ids is None:
        return
    if not isinstance(ids, list) or not 1 <= len(ids) <= 1000 or not all(isinstance(i, str) and i for i in ids):
        raise Rejected(400, 1003, "registration_id must be a list of 1 to 1000 ids")
    if not set(ids) & registered:
        raise Rejected(400, 1011, "cannot find user by this audience or has been inactive for more than 255 days")


def _check_notification(notification, platforms: set[str]) -> None:
    if not isinstance(notification, dict) or not notification or set(notification) - NOTIFICATION_KEYS:
        raise Rejected(400, 1003, f"invalid notification: {notification!r}")
    if "alert" in notification and not isinstance(notification["alert"], str):
        raise Rejected(400, 1003, "notification.alert must be a string")
    for platform in platforms & set(notification):
        override = notification[platform]
        if not isinstance(override, dict):
            raise Rejected(400, 1003, f"notification.{platform} must be an object")
        alert = override.get("alert", notification.get("alert"))
        valid = isinstance(alert, (str, dict)) if platform == "ios" else isinstance(alert, str)
        if not valid:
            raise Rejected(400, 1002, f"notification.{platform}.alert is required")
        if "title" in override and not isinstance(override["title"], str):
            raise Rejected(400, 1003, f"notification.{platform}.title must be a string")
        if "extras" in override and not isinstance(override["extras"], dict):
            raise Rejected(400, 1003, f"notification.{platform}.extras must be an object")


def _check_options(options) -> None:
    if not isinstance(options, dict):
        raise Rejected(400, 1003, "options must be an object")
    ttl = options.get("time_to_live", 86400)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TIME_TO_LIVE:
        raise Rejected(400, 1003, "options.time_to_live must be 0 to 864000 seconds")
    if not isinstance(options.get("apns_production", False), bool):
        raise Rejected(400, 1003, "options.apns_production must be a boolean")


def _handler(server: JPushServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server interface
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/v3/push":
                self._answer(404, {"error": {"code": 1003, "message": "Not found"}})
                return
            self._answer(*server.handle(self.headers, raw))

        def do_GET(self) -> None:  # noqa: N802
            self._answer(405, {"error": {"code": 1001, "message": "Only support HTTP Post method"}})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    return Handler
