"""Login limits without lock-out (DESIGN §10), counted where every worker and instance sees them.

Failed logins (a wrong password, a wrong SMS code, a wrong current password) count three ways:
- per (username, address) — `LOGIN_LIMIT_PER_USERNAME_ADDRESS`, then 429 for that pair only, so
  someone guessing from one address cannot keep the owner out of the account from another;
- per address — `LOGIN_LIMIT_PER_ADDRESS`, then 429 for that address whatever the username, which
  stops one address spraying guesses over many accounts;
- per username — `LOGIN_SLOWDOWN_PER_USERNAME`: past it, every attempt for that username waits
  `LOGIN_SLOWDOWN_SECONDS` before its password is checked. A guessing attack spread over many
  addresses is slowed down; the owner is slowed too, but never refused.
The counters live in Flask-Limiter's storage (`RATELIMIT_STORAGE_URI`): in-process memory serves
one worker (`make run` then runs one worker with threads), Redis several workers or machines.
When that storage cannot be reached, the counters fall back to this process's memory (each worker
then counts on its own, so the limits hold, looser) and the storage is tried again after
`STORAGE_RETRY_SECONDS`: a Redis outage neither fails logins with a 500 nor lifts the limits.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from functools import lru_cache

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import RateLimiter

from service_app.errors import TooManyRequests
from service_app.extensions import limiter

PAIR, ADDRESS, USERNAME = "login-pair", "login-address", "login-username"
STORAGE_RETRY_SECONDS = 30.0

log = logging.getLogger(__name__)


class _Counters:
    """The limiter's storage, or this process's memory while that storage is unreachable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fallback: RateLimiter | None = None
        self._retry_at = 0.0

    def call(self, operation: str, *args):
        primary = limiter.limiter
        if time.monotonic() >= self._retry_at:
            try:
                return getattr(primary, operation)(*args)
            except primary.storage.base_exceptions as error:
                log.warning("rate-limit storage unreachable, counting in process memory: %s", error)
                self._retry_at = time.monotonic() + STORAGE_RETRY_SECONDS
        return getattr(self._fallback_for(primary), operation)(*args)

    def _fallback_for(self, primary: RateLimiter) -> RateLimiter:
        with self._lock:
            if self._fallback is None:
                self._fallback = type(primary)(MemoryStorage())
            return self._fallback


def _counters() -> _Counters:
    return current_app.extensions.setdefault("login_counters", _Counters())


@lru_cache(maxsize=32)
def _items(spec: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(spec))


def _keys(scope: str, value: str) -> tuple[str, ...]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    return (prefix, scope, value) if prefix else (scope, value)


def _refusing_counters(username: str, address: str) -> tuple[tuple[str, str, str], ...]:
    config = current_app.config
    return (
        (PAIR, f"{username}|{address}", config["LOGIN_LIMIT_PER_USERNAME_ADDRESS"]),
        (ADDRESS, address, config["LOGIN_LIMIT_PER_ADDRESS"]),
    )


def ensure_login_allowed(*, username: str, address: str) -> None:
    """429 when this (username, address) pair or this address has no failed logins left; then wait
    the slowdown when the username is under attack. Runs before any password is checked."""
    if not limiter.enabled:
        return
    for scope, value, spec in _refusing_counters(username, address):
        for item in _items(spec):
            keys = _keys(scope, value)
            if not _counters().call("test", item, *keys):
                reset_at = _counters().call("get_window_stats", item, *keys).reset_time
                raise TooManyRequests(headers={"Retry-After": str(max(1, math.ceil(reset_at - time.time())))})
    delay = login_delay(username=username)
    if delay:
        time.sleep(delay)


def login_delay(*, username: str) -> float:
    """Seconds every login attempt for `username` waits now (0 unless it is under attack)."""
    if not limiter.enabled:
        return 0.0
    for item in _items(current_app.config["LOGIN_SLOWDOWN_PER_USERNAME"]):
        if not _counters().call("test", item, *_keys(USERNAME, username)):
            return float(current_app.config["LOGIN_SLOWDOWN_SECONDS"])
    return 0.0


def record_failed_login(*, username: str, address: str) -> None:
    """Count one failed login for the pair, the address and the username."""
    if not limiter.enabled:
        return
    counters = (
        *_refusing_counters(username, address),
        (USERNAME, username, current_app.config["LOGIN_SLOWDOWN_PER_USERNAME"]),
    )
    for scope, value, spec in counters:
        for item in _items(spec):
            _counters().call("hit", item, *_keys(scope, value))


SMS_PHONE, SMS_ADDRESS = "sms-phone", "sms-address"


def take_sms_allowance(*, phone: str, address: str) -> bool:
    """True, and counted, when one more SMS code may go to `phone` at the request of `address`
    (`SMS_LIMIT_PER_PHONE`, `SMS_LIMIT_PER_ADDRESS`); False, and nothing counted, over a limit."""
    if not limiter.enabled:
        return True
    config = current_app.config
    counters = (
        (SMS_PHONE, phone, config["SMS_LIMIT_PER_PHONE"]),
        (SMS_ADDRESS, address, config["SMS_LIMIT_PER_ADDRESS"]),
    )
    checks = [(item, _keys(scope, value)) for scope, value, spec in counters for item in _items(spec)]
    if not all(_counters().call("test", item, *keys) for item, keys in checks):
        return False
    for item, keys in checks:
        _counters().call("hit", item, *keys)
    return True


def sms_resend_seconds() -> int:
    """How long after one code a number must wait for the next (its one-per-window limit)."""
    items = [item for item in _items(current_app.config["SMS_LIMIT_PER_PHONE"]) if item.amount == 1]
    return min((item.get_expiry() for item in items), default=0)
