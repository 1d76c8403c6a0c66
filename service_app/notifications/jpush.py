"""JPush (极光推送) REST API v3: `POST /v3/push` to one registration id.

HTTP basic auth with the app key and master secret; the body names the platform, the audience
(`registration_id`), the notification (title and alert for the device's platform) and options
(`time_to_live`, `apns_production`). Answers: 200 `{"sendno", "msg_id"}`, otherwise
`{"error": {"code", "message"}}` — 1011 (no such registration id) deactivates the device, 2002/2003
(rate limits), 1000/1030 and any 5xx are retried, other codes are final.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from service_app.notifications.push import InvalidToken, PushError, PushMessage, RetryLater

DEFAULT_BASE_URL = "https://api.jpush.cn"
# Our platform names -> JPush's.
PLATFORMS = {"android": "android", "ios": "ios", "harmony": "hmos"}
INVALID_TOKEN_CODES = {1011}
RETRY_CODES = {1000, 1030, 2002, 2003}


class JPushSender:
    def __init__(
        self,
        *,
        app_key: str,
        master_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        apns_production: bool = False,
        time_to_live: int = 86400,
        timeout: float = 10.0,
    ) -> None:
        self.url = base_url.rstrip("/") + "/v3/push"
        credentials = base64.b64encode(f"{app_key}:{master_secret}".encode()).decode("ascii")
        self.authorization = f"Basic {credentials}"
        self.apns_production = apns_production
        self.time_to_live = time_to_live
        self.timeout = timeout

    def payload(self, message: PushMessage) -> dict[str, Any]:
        """The documented request body for one registration id on the device's platform."""
        platform = PLATFORMS.get(message.platform)
        if platform is None:
            raise PushError(f"JPush does not serve platform {message.platform!r}")
        extras = {key: value for key, value in message.data.items() if value is not None}
        override: dict[str, Any] = {"alert": message.body, "extras": extras}
        if platform == "ios":
            override["alert"] = {"title": message.title, "body": message.body}
        else:
            override["title"] = message.title
        return {
            "platform": [platform],
            "audience": {"registration_id": [message.token]},
            "notification": {"alert": message.body, platform: override},
            "options": {"time_to_live": self.time_to_live, "apns_production": self.apns_production},
        }

    def send(self, message: PushMessage) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8"),
            method="POST",
            headers={"Authorization": self.authorization, "Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise _failure(error.code, error.read()) from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise RetryLater(f"JPush unreachable: {error}") from error


def _failure(status: int, raw: bytes) -> PushError:
    try:
        detail = json.loads(raw)["error"]
        code, text = int(detail["code"]), str(detail.get("message", ""))
    except (ValueError, KeyError, TypeError):
        code, text = 0, raw[:200].decode("utf-8", "replace")
    description = f"JPush {status} {code}: {text}"[:255]
    if code in INVALID_TOKEN_CODES:
        return InvalidToken(description)
    if code in RETRY_CODES or status == 429 or status >= 500:
        return RetryLater(description)
    return PushError(description)


def from_config(config: Mapping[str, Any]) -> JPushSender | None:
    """The sender JPUSH_APP_KEY and JPUSH_MASTER_SECRET configure (None: neither is set)."""
    key, secret = config.get("JPUSH_APP_KEY"), config.get("JPUSH_MASTER_SECRET")
    if not key and not secret:
        return None
    if not key or not secret:
        raise ValueError("JPush needs both JPUSH_APP_KEY and JPUSH_MASTER_SECRET")
    return JPushSender(
        app_key=key,
        master_secret=secret,
        base_url=config.get("JPUSH_BASE_URL") or DEFAULT_BASE_URL,
        apns_production=bool(config.get("JPUSH_APNS_PRODUCTION")),
        time_to_live=int(config.get("JPUSH_TIME_TO_LIVE", 86400)),
    )
