"""What a push provider's sender is: the interface every provider (JPush, FCM, vendor channels, Web Push) meets.

A sender pushes one message to one device token and says how it went by returning (sent) or by
raising one of the errors below; the delivery job decides what follows (retry, deactivate, give up).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushMessage:
    """One notice for one device, its text already in the device's language."""

    token: str
    platform: str  # one of auth.models.DEVICE_PLATFORMS
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)  # what the app opens on tap (notice, problem…)


class PushError(Exception):
    """The provider refused this push for good (malformed request, rejected content): not retried."""


class InvalidToken(PushError):
    """The provider does not know the token (app uninstalled, token expired): the device is deactivated."""


class RetryLater(PushError):
    """Rate limited, a 5xx or no answer: tried again later with a growing delay."""


class PushSender(Protocol):
    def send(self, message: PushMessage) -> None:
        """Push `message`; raise InvalidToken, RetryLater or PushError when it did not go out."""


class RecordingSender:
    """The sender of a provider that is not configured (development, tests): logs and succeeds."""

    def send(self, message: PushMessage) -> None:
        log.info("push_recorded", extra={"platform": message.platform, "title": message.title})
