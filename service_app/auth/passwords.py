"""argon2id password hashing."""

from __future__ import annotations

import threading
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)


# Each argon2 hash holds ARGON2_MEMORY_COST KiB while it runs. Bounding how many run at once in a
# worker bounds its memory (gthread workers have several threads); hashing is CPU-bound, so more
# concurrent hashes than cores would not make logins faster anyway.
_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


def _hash_slots() -> threading.BoundedSemaphore:
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(current_app.config.get("ARGON2_MAX_CONCURRENT", 2))
        return _slots


def hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    with _hash_slots():
        return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        with _hash_slots():
            return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash("not-a-real-password")


def burn_verification(password: str) -> None:
    """Spend the time of one verification so unknown usernames answer as slowly as wrong passwords."""
    config = current_app.config
    verify_password(
        _dummy_hash(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]), password
    )
