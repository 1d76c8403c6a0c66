"""One push sender per provider, built from the configuration once at start-up.

Adding a provider: a module with a class meeting `push.PushSender` and a `from_config(config)`
that returns it (or None when the provider is not configured), an entry in `FACTORIES` and the
provider's name and platforms in `auth.models.PROVIDER_PLATFORMS`. A provider that is not
configured gets the `RecordingSender`; a half-configured one stops the app at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app

from service_app.auth.models import DEVICE_PROVIDERS
from service_app.notifications import jpush
from service_app.notifications.push import PushSender, RecordingSender

FACTORIES: dict[str, Callable[[Mapping[str, Any]], PushSender | None]] = {"jpush": jpush.from_config}


class SenderConfigError(RuntimeError):
    """A provider's settings do not make a usable sender."""


def build_senders(config: Mapping[str, Any]) -> dict[str, PushSender]:
    senders: dict[str, PushSender] = {}
    for provider in DEVICE_PROVIDERS:
        try:
            sender = FACTORIES[provider](config)
        except (KeyError, ValueError) as error:
            raise SenderConfigError(f"push provider {provider!r}: {error}") from error
        senders[provider] = sender or RecordingSender()
    return senders


def init_app(app: Flask) -> None:
    app.extensions["push_senders"] = build_senders(app.config)


def current_senders() -> dict[str, PushSender]:
    """The senders this app was configured with, by provider (for the scheduler's delivery job)."""
    return current_app.extensions["push_senders"]
