"""Client address behind a known number of trusted proxies."""

from __future__ import annotations

from flask import current_app, request


def client_address() -> str:
    """The caller's IP: the remote address, or the X-Forwarded-For entry our proxies added."""
    hops = current_app.config.get("PROXY_COUNT", 0)
    if hops:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or "unknown"
