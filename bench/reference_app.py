"""The reference the service is measured against, served by the same gunicorn settings.

- `GET /bare`: a constant JSON document — the ceiling of Flask + gunicorn on this machine;
- `GET /naive`: a naive page of 20 problems — `SELECT * … ORDER BY id DESC LIMIT 20` on the same
  database and table the service reads, serialised with jsonify; no authentication, no scoping.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

from service_app.config import normalise_database_url

app = Flask(__name__)
engine = create_engine(normalise_database_url(os.environ["DATABASE_URL"]), pool_pre_ping=True)


@app.get("/bare")
def bare():
    return jsonify({"status": "ok"})


@app.get("/naive")
def naive():
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM problems ORDER BY id DESC LIMIT 20")).mappings().all()
    return jsonify(
        {"items": [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()} for row in rows]}
    )
