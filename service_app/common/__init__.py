"""Helpers several domains share: pagination, idempotency, time, HTTP plumbing. Imports no domain."""
