"""The configured push sender: PUSH_SENDER = "package.module:Class", loaded once at start-up.

A wrong path stops the app (and the scheduler) at start-up with a message naming the setting,
rather than failing every delivery later.
"""

from __future__ import annotations

import importlib

from flask import Flask, current_app

from service_app.notifications.service import PushSender


class SenderConfigError(RuntimeError):
    """PUSH_SENDER does not name a usable sender."""


def load_sender(path: str) -> PushSender:
    """Import `package.module:Class` and instantiate it without arguments."""
    module_name, separator, attribute = (path or "").partition(":")
    if not separator or not module_name or not attribute:
        raise SenderConfigError(f"PUSH_SENDER must look like 'package.module:Class', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise SenderConfigError(f"PUSH_SENDER={path!r}: cannot import {module_name!r} ({error})") from error
    cls = getattr(module, attribute, None)
    if not isinstance(cls, type):
        raise SenderConfigError(f"PUSH_SENDER={path!r}: {module_name} has no class {attribute!r}")
    try:
        sender = cls()
    except Exception as error:
        raise SenderConfigError(f"PUSH_SENDER={path!r}: {attribute}() failed ({error})") from error
    if not callable(getattr(sender, "send", None)):
        raise SenderConfigError(f"PUSH_SENDER={path!r}: {attribute} has no send(notice) method")
    return sender


def init_app(app: Flask) -> None:
    """Load PUSH_SENDER once, from `create_app`: a bad setting fails at start-up."""
    app.extensions["push_sender"] = load_sender(app.config["PUSH_SENDER"])


def current_sender() -> PushSender:
    """The sender this app was configured with (for the scheduler's delivery job)."""
    return current_app.extensions["push_sender"]
