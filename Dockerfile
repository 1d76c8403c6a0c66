# The production image: gunicorn serving wsgi:app as a non-root user. It serves and never migrates:
# run `flask db upgrade` once per release in its own container first (compose.yaml's `migrate` service).
#
# Two stages. `build` installs the pinned dependencies (all wheels) into a virtualenv, a layer rebuilt only
# when requirements.txt changes; the pip build arguments (possibly a private index) stay in that stage,
# out of the runtime image's history. The runtime stage copies the virtualenv (no pip or setuptools in it)
# and the code, which stays owned by root: the service cannot change it.
FROM python:3.11-slim AS build
# How pip reaches the package index, when not directly: pass e.g. --build-arg PIP_INDEX_URL=…
# (README, "Deploying"). Build arguments stay out of the runtime image.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST
ARG PIP_DEFAULT_TIMEOUT=60
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv --without-pip /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN python -m pip --python /opt/venv/bin/python install --no-warn-script-location -r /tmp/requirements.txt \
    && python -m pip --python /opt/venv/bin/python check

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    FLASK_APP=wsgi \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000
RUN useradd --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . .
# instance/attachments exists, owned by the service, so that a volume mounted there starts with that
# owner (Docker copies it into a new volume) and uploads can be written; the code stays root's.
RUN mkdir -p instance/attachments && chown -R app:app instance
USER app

EXPOSE 8000
# Ready means the database answers. Docker's first probe runs one interval after the start.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["python", "-c", \
    "import os,urllib.request as r;r.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/api/v1/health/ready',timeout=2)"]
# Exec form: gunicorn is PID 1 and gets the container's SIGTERM (graceful stop within graceful_timeout).
# The scheduler is the same image with `flask scheduler run`; migrations are `flask db upgrade`.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
