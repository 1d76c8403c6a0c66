"""The reference the service is measured against, served by the same gunicorn settings.

- `GET /bare`: a constant JSON document — the ceiling of Flask + gunicorn on this machine;
- `GET /naive`: a naive page of 20 problems — `SELECT * … ORDER BY id DESC LIMIT 20` on the same
  database and table the service reads, serialised with jsonify; no authentication, no scoping;
- `POST /naive`: a naive write — the JSON body parsed and stored as one row (`INSERT … RETURNING id`
  into the scratch table `bench_writes`) and committed, answered with the row as JSON; no
  authentication, no validation. The table is the bench's own (not a model: no migration), created
  here and emptied by bench/run.py between rounds, like every row the service's write scenarios add.
"""

from __future__ import annotations

import json
import os

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

from service_app.config import normalise_database_url

app = Flask(__name__)
engine = create_engine(normalise_database_url(os.environ["DATABASE_URL"]), pool_pre_ping=True)

WRITES_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_writes "
    "(id serial PRIMARY KEY, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
)
with engine.begin() as _connection:
    _connection.execute(text(WRITES_TABLE))


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


@app.post("/naive")
def naive_insert():
    body = request.get_json()
    with engine.begin() as connection:
        row = connection.execute(
            text("INSERT INTO bench_writes (body) VALUES (:body) RETURNING id, created_at"),
            {"body": json.dumps(body, ensure_ascii=False)},
        ).one()
    return jsonify({"id": row.id, "created_at": row.created_at.isoformat(), **body}), 201
