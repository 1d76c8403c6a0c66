"""gunicorn settings from the environment (`gunicorn -c gunicorn.conf.py wsgi:app`)."""

import os
import sys

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# WEB_CONCURRENCY is gunicorn's own convention for the worker count. Rate-limit counters kept in
# process memory (the default storage) are each worker's own, so the login limits would multiply by
# the worker count: with them, one worker serves with threads; several workers need Redis.
_limits_in_process = os.environ.get("RATELIMIT_STORAGE_URI", "memory://").startswith("memory://")
workers = int(os.environ.get("WEB_CONCURRENCY", "1" if _limits_in_process else "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "8" if workers == 1 else "4"))
_limits_on = os.environ.get("RATELIMIT_ENABLED", "true").lower() in ("1", "true", "yes", "on")
if workers > 1 and _limits_in_process and _limits_on:
    sys.stderr.write(
        f"WARNING: {workers} workers with in-process rate-limit storage: each worker counts failed logins "
        "on its own. Set RATELIMIT_STORAGE_URI=redis://... or WEB_CONCURRENCY=1.\n"
    )
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "2000"))
# The app logs every request as JSON itself; gunicorn's own access log would double it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 27 opens a control socket for `gunicornc` at $XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl:
# one path for every instance a user runs (stopping one `make run` removed another's socket), and not writable
# in the image (Errno 13 at every start). Off, unless an operator gives a path of this instance's own.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True


def post_fork(server, worker):
    """Keep large allocations (argon2's 19 MiB blocks) out of glibc's per-thread arenas.

    glibc raises its mmap threshold after the first large block is freed, so later argon2 blocks
    come from the arenas of the worker's threads and are never returned to the system: a worker
    grew from 120 to 198 MB after a burst of logins. A fixed threshold keeps every large block
    mmapped, and freed for real.
    """
    import ctypes
    import ctypes.util

    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return
    try:
        libc = ctypes.CDLL(libc_name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return
    m_mmap_threshold = -3
    mallopt(m_mmap_threshold, 128 * 1024)
