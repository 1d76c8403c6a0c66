"""Settings from the environment (12-factor).

Every setting has a safe development default except the JWT secret in production:
`create_app` refuses to start when `APP_ENV=production` and `JWT_SECRET_KEY` is unset. Outside
production an unset secret is a random one generated once and kept in `instance/jwt-secret`
(shared by every worker and the scheduler, never a value published with the source).
The README lists every variable.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_FILE = _ROOT / "instance" / "jwt-secret"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Let operators write the usual `postgres://` URL; we drive PostgreSQL with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def default_database_url() -> str:
    instance = _ROOT / "instance"
    return f"sqlite:///{instance / 'service_app.db'}"


def development_secret(path: Path | None = None) -> str:
    """This checkout's own signing key: created at first use (readable by its owner only), then kept."""
    path = path or DEV_SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process (a worker, the scheduler) created it meanwhile
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


def from_environment() -> dict:
    """Build the Flask config mapping from the process environment."""
    env = os.environ.get("APP_ENV", "development")
    return {
        "APP_ENV": env,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL") or default_database_url()
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLALCHEMY_RECORD_QUERIES": False,
        "JWT_SECRET_KEY": os.environ.get("JWT_SECRET_KEY")
        or (None if env == "production" else development_secret()),
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=_int("ACCESS_TOKEN_MINUTES", 15)),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=_int("REFRESH_TOKEN_DAYS", 30)),
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ERROR_MESSAGE_KEY": "message",
        # Login limits (Flask-Limiter notation), counting failed logins only (auth/throttle.py): a
        # (username, address) pair and an address are refused (429); a username attacked from
        # everywhere is only slowed down, so its owner can still log in.
        "LOGIN_LIMIT_PER_USERNAME_ADDRESS": os.environ.get(
            "LOGIN_LIMIT_PER_USERNAME_ADDRESS", "5 per minute;20 per hour"
        ),
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "20 per minute;100 per hour"),
        "LOGIN_SLOWDOWN_PER_USERNAME": os.environ.get("LOGIN_SLOWDOWN_PER_USERNAME", "10 per 15 minutes"),
        "LOGIN_SLOWDOWN_SECONDS": float(os.environ.get("LOGIN_SLOWDOWN_SECONDS", "1")),
        # SMS codes (auth/sms.py): sender "log", "aliyun" or "package.module:Class"; lifetime, tries, limits.
        "SMS_SENDER": os.environ.get("SMS_SENDER", "log"),
        "SMS_CODE_TTL_SECONDS": _int("SMS_CODE_TTL_SECONDS", 300),
        "SMS_CODE_MAX_ATTEMPTS": _int("SMS_CODE_MAX_ATTEMPTS", 5),
        "SMS_LIMIT_PER_PHONE": os.environ.get("SMS_LIMIT_PER_PHONE", "1 per minute;10 per day"),
        "SMS_LIMIT_PER_ADDRESS": os.environ.get("SMS_LIMIT_PER_ADDRESS", "50 per day"),
        "ALIYUN_SMS_ENDPOINT": os.environ.get("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com"),
        "ALIYUN_SMS_ACCESS_KEY_ID": os.environ.get("ALIYUN_SMS_ACCESS_KEY_ID"),
        "ALIYUN_SMS_ACCESS_KEY_SECRET": os.environ.get("ALIYUN_SMS_ACCESS_KEY_SECRET"),
        "ALIYUN_SMS_SIGN_NAME": os.environ.get("ALIYUN_SMS_SIGN_NAME"),
        "ALIYUN_SMS_TEMPLATE_LOGIN": os.environ.get("ALIYUN_SMS_TEMPLATE_LOGIN"),
        "ALIYUN_SMS_TEMPLATE_RESET": os.environ.get("ALIYUN_SMS_TEMPLATE_RESET"),
        "ALIYUN_SMS_TIMEOUT_SECONDS": float(os.environ.get("ALIYUN_SMS_TIMEOUT_SECONDS", "5")),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Limits on routes (Open311 clients) count in process memory while the storage is unreachable.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Number of trusted reverse proxies in front of gunicorn (for the client address).
        "PROXY_COUNT": _int("PROXY_COUNT", 0),
        # argon2id cost: OWASP's baseline (19 MiB, 2 passes, 1 lane). RFC 9106's 64 MiB profile
        # put gunicorn workers (4 threads each hashing at once) far over 150 MB under login load.
        "ARGON2_TIME_COST": _int("ARGON2_TIME_COST", 2),
        "ARGON2_MEMORY_COST": _int("ARGON2_MEMORY_COST", 19456),
        "ARGON2_PARALLELISM": _int("ARGON2_PARALLELISM", 1),
        "ARGON2_MAX_CONCURRENT": _int("ARGON2_MAX_CONCURRENT", 2),
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
        "MAX_JSON_BYTES": _int("MAX_JSON_BYTES", 256 * 1024),
        "IMPORT_MAX_BYTES": _int("IMPORT_MAX_BYTES", 5 * 1024 * 1024),
        "IMPORT_MAX_ROWS": _int("IMPORT_MAX_ROWS", 10000),
        # What an XLSX may inflate to while it is read (a 10,000-row sheet is about 5 MB of XML).
        "IMPORT_MAX_INFLATED_BYTES": _int("IMPORT_MAX_INFLATED_BYTES", 32 * 1024 * 1024),
        "PAGE_SIZE_DEFAULT": _int("PAGE_SIZE_DEFAULT", 20),
        "PAGE_SIZE_MAX": _int("PAGE_SIZE_MAX", 100),
        # Working hours of the working-day clock, Asia/Shanghai (DESIGN §11).
        "WORKING_HOURS": os.environ.get("WORKING_HOURS", "09:00-17:30"),
        "UNRATED_CLOSE_DAYS": _int("UNRATED_CLOSE_DAYS", 7),
        "IDEMPOTENCY_TTL_HOURS": _int("IDEMPOTENCY_TTL_HOURS", 24),
        "GEOFENCE_RADIUS_M": _int("GEOFENCE_RADIUS_M", 500),
        "VISIT_AUTO_CLOSE_HOURS": _int("VISIT_AUTO_CLOSE_HOURS", 8),
        "ATTACHMENT_STORAGE": os.environ.get("ATTACHMENT_STORAGE", "local"),
        "ATTACHMENT_DIR": os.environ.get("ATTACHMENT_DIR", str(_ROOT / "instance" / "attachments")),
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL"),
        "S3_BUCKET": os.environ.get("S3_BUCKET"),
        "S3_REGION": os.environ.get("S3_REGION", "us-east-1"),
        "S3_ACCESS_KEY_ID": os.environ.get("S3_ACCESS_KEY_ID"),
        "S3_SECRET_ACCESS_KEY": os.environ.get("S3_SECRET_ACCESS_KEY"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "LOG_JSON": _bool("LOG_JSON", True),
        "ACCESS_LOG": _bool("ACCESS_LOG", True),
        "TIMEZONE": os.environ.get("TIMEZONE", "Asia/Shanghai"),
        # flask-smorest / OpenAPI
        "API_TITLE": "联企服务 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "v1/openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Swagger UI's assets are served by the app itself (swagger-ui-bundle), so the docs
        # work on a zone intranet with no route to a CDN.
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
        # No badge fetched from validator.swagger.io (the docs page's CSP allows this host only).
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
        # Visits: offline check-ins up to this old; client clocks this far ahead; flag thresholds.
        "VISIT_OFFLINE_MAX_HOURS": _int("VISIT_OFFLINE_MAX_HOURS", 72),
        "VISIT_CLOCK_SKEW_SECONDS": _int("VISIT_CLOCK_SKEW_SECONDS", 300),
        "VISIT_POOR_ACCURACY_M": _int("VISIT_POOR_ACCURACY_M", 100),
        "VISIT_MAX_SPEED_KMH": _int("VISIT_MAX_SPEED_KMH", 120),
        # Largest attachment accepted by POST /attachments (its request may add 64 KiB of multipart framing).
        "ATTACHMENT_MAX_BYTES": _int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        # Uploads attached to nothing this long after they were stored are deleted (attachments.purge_unattached).
        "UNATTACHED_UPLOAD_HOURS": _int("UNATTACHED_UPLOAD_HOURS", 24),
        # Push: attempts per (notice, device) and the delay after the first failure, doubling up to the maximum.
        "NOTIFICATION_MAX_ATTEMPTS": _int("NOTIFICATION_MAX_ATTEMPTS", 5),
        "NOTIFICATION_RETRY_BASE_SECONDS": _int("NOTIFICATION_RETRY_BASE_SECONDS", 60),
        "NOTIFICATION_RETRY_MAX_SECONDS": _int("NOTIFICATION_RETRY_MAX_SECONDS", 3600),
        # A claimed push is due again after this long if its scheduler died before recording the outcome.
        "NOTIFICATION_CLAIM_SECONDS": _int("NOTIFICATION_CLAIM_SECONDS", 1800),
        # JPush (极光推送): unset key and secret leave JPush devices to the recording sender (development).
        "JPUSH_APP_KEY": os.environ.get("JPUSH_APP_KEY", ""),
        "JPUSH_MASTER_SECRET": os.environ.get("JPUSH_MASTER_SECRET", ""),
        "JPUSH_BASE_URL": os.environ.get("JPUSH_BASE_URL", "https://api.jpush.cn"),
        "JPUSH_APNS_PRODUCTION": os.environ.get("JPUSH_APNS_PRODUCTION", "false").lower() in ("1", "true", "yes"),
        "JPUSH_TIME_TO_LIVE": _int("JPUSH_TIME_TO_LIVE", 86400),
        # Scheduler (service_app/scheduler.py): how late a tick may still run, and how long a SQLite
        # lock row left by a crashed scheduler blocks its job.
        "SCHEDULER_MISFIRE_GRACE_SECONDS": _int("SCHEDULER_MISFIRE_GRACE_SECONDS", 300),
        "SCHEDULER_LOCK_TTL_SECONDS": _int("SCHEDULER_LOCK_TTL_SECONDS", 1800),
        "JOB_RUN_RETENTION_DAYS": _int("JOB_RUN_RETENTION_DAYS", 90),
        # Common problems: raised by at least this many enterprises; how many title themes to keep.
        "STATS_COMMON_MIN_ENTERPRISES": _int("STATS_COMMON_MIN_ENTERPRISES", 5),
        "STATS_COMMON_THEMES": _int("STATS_COMMON_THEMES", 20),
        # Open311 gateway (/open311/v2/): keyless reads of requests, the jurisdiction served, default limits.
        "OPEN311_PUBLIC_READ": _bool("OPEN311_PUBLIC_READ", False),
        "OPEN311_JURISDICTION_ID": os.environ.get("OPEN311_JURISDICTION_ID", "lianqi"),
        "OPEN311_CLIENT_RATE_LIMIT": os.environ.get("OPEN311_CLIENT_RATE_LIMIT", "120 per minute;5000 per day"),
        "OPEN311_PUBLIC_RATE_LIMIT": os.environ.get("OPEN311_PUBLIC_RATE_LIMIT", "60 per minute"),
        "OPEN311_CONTACT": os.environ.get("OPEN311_CONTACT", ""),
    }
