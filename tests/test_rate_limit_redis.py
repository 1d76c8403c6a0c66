"""Rate limits in Redis (RATELIMIT_STORAGE_URI=redis://…): shared by every worker and replica."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import make_app

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required under CI=true: {error}", pytrace=False)
        pytest.skip(f"Redis unreachable: {error}")
    return REDIS_URL


@pytest.fixture
def own_limiter():
    """The limiter is one object per process, and `init_app` points it at the newest app's storage:
    the apps built here would leave later tests counting in their storage. Put it back after."""
    from service_app.extensions import limiter

    saved = dict(vars(limiter))
    yield
    vars(limiter).update(saved)


@pytest.mark.usefixtures("own_limiter")
@pytest.mark.committing  # writes nothing; two separate app instances must not wait on the test transaction
def test_failed_logins_are_counted_across_replicas(app, database_url, redis_url):
    """Two app instances (two workers or two machines) share one limit through Redis."""
    import redis

    settings = {"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    first, second = make_app(database_url, **settings), make_app(database_url, **settings)
    body = {"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "wrong"}
    try:
        statuses = [
            (first if n % 2 else second).test_client().post("/api/v1/auth/login", json=body).status_code
            for n in range(6)
        ]
        assert statuses == [401] * 5 + [429]
        # The limit is the (username, address) pair's: the same username from elsewhere is still heard.
        elsewhere = first.test_client().post(
            "/api/v1/auth/login", json=body, environ_base={"REMOTE_ADDR": "198.51.100.8"}
        )
        assert elsewhere.status_code == 401
    finally:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"{settings['RATELIMIT_KEY_PREFIX']}*"):
            client.delete(key)


@pytest.mark.usefixtures("own_limiter")
@pytest.mark.committing  # writes nothing; the app with a dead storage must not wait on the test transaction
def test_an_unreachable_storage_neither_fails_logins_nor_lifts_the_limits(app, database_url):
    """Redis down: failed logins still count (in this process's memory) and are refused past the
    limit; nothing answers 500."""
    from tests.live import free_port

    dead = make_app(database_url, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    client = dead.test_client()
    body = {"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "wrong-1234"}
    statuses = [client.post("/api/v1/auth/login", json=body).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    elsewhere = client.post("/api/v1/auth/login", json=body, environ_base={"REMOTE_ADDR": "198.51.100.8"})
    assert elsewhere.status_code == 401
    # Limits on routes (the Open311 clients') fall back the same way instead of failing the request.
    assert client.get("/open311/v2/services.json").status_code < 500
