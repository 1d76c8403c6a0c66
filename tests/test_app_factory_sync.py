"""service_app.ServiceFlask: whether a hook or view is `async` is asked once per function."""

from __future__ import annotations

import inspect


def test_a_function_is_inspected_once_and_kept(app, monkeypatch):
    asked = []
    real = inspect.iscoroutinefunction
    monkeypatch.setattr("flask.app.iscoroutinefunction", lambda func: asked.append(func) or real(func))

    def hook():
        return None

    assert app.ensure_sync(hook) is hook
    assert app.ensure_sync(hook) is hook
    assert asked == [hook]


def test_an_async_function_is_still_handed_to_async_to_sync(app, monkeypatch):
    monkeypatch.setattr(app, "async_to_sync", lambda func: ("wrapped", func))

    async def view():
        return "done"

    assert app.ensure_sync(view) == ("wrapped", view)


def test_functions_made_per_request_cannot_grow_the_kept_set(app):
    for _ in range(app.SYNCED_KEPT + 10):
        app.ensure_sync(lambda: None)
    assert len(app._synced) <= app.SYNCED_KEPT
