"""extensions.Limiter: Flask-Limiter's before-request pass runs only when a limit of a kind it
checks there exists (view limits are checked by their decorator: tests/test_open311.py)."""

from __future__ import annotations

from flask_limiter import Limiter as LibraryLimiter

from service_app.extensions import limiter


def _passes(monkeypatch) -> list:
    seen = []
    real = LibraryLimiter._check_request_limit

    def counted(self, callable_name=None, in_middleware=True):
        seen.append((callable_name, in_middleware))
        return real(self, callable_name, in_middleware)

    monkeypatch.setattr(LibraryLimiter, "_check_request_limit", counted)
    return seen


def test_no_before_request_pass_where_no_limit_applies(client, manager_headers, monkeypatch):
    seen = _passes(monkeypatch)
    assert client.get("/api/v1/me", headers=manager_headers).status_code == 200
    assert seen == []


def test_the_pass_runs_once_a_default_limit_exists(client, manager_headers, monkeypatch):
    seen = _passes(monkeypatch)
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", [object()])
    with monkeypatch.context() as patch:
        # The library's own evaluation is not the subject here: only that the pass is made.
        patch.setattr(LibraryLimiter, "_Limiter__filter_limits", lambda *_args, **_kwargs: [])
        assert client.get("/api/v1/me", headers=manager_headers).status_code == 200
    assert seen == [(None, True)]


def test_the_pass_runs_while_the_storage_is_down(client, manager_headers, monkeypatch):
    seen = _passes(monkeypatch)
    monkeypatch.setattr(limiter, "_storage_dead", True)
    with monkeypatch.context() as patch:
        patch.setattr(LibraryLimiter, "_Limiter__filter_limits", lambda *_args, **_kwargs: [])
        assert client.get("/api/v1/me", headers=manager_headers).status_code == 200
    assert seen == [(None, True)]
