"""Synthetic PostgreSQL data at scale, shared by the scale benchmarks (stats_scale, list_scale).

`generate(url, problems=N, until=T)` (re)creates the database, migrates it, loads the reference
data and fills it with `INSERT … SELECT generate_series` (no Python per row). The data is shaped
like a real zone so that the list filters are as selective as they would be in production:

- max(2000, N/200) enterprises; how many problems each files is heavy-tailed (enterprise 1 files
  the most, about N/E^(2/3)); each has one user;
- cadres linked to 1, 2 or 3 enterprises each (in turn), plus ended links (history) for one
  enterprise in ten; two staff users per department; one manager;
- problems filed uniformly over the 2400 days before `until`; the status follows from the age:
  a problem is answered within 40 h, rejected 6% of the time, dispatched to its category's
  department 80% of the time (else the cadre solves it), claimed within a day, resolved within
  1.6x its SLA and closed up to a week later, all only if that happened before `until`; 2% never
  get resolved (the old overdue backlog). So the open problems are the recent ones plus that
  backlog, `overdue` is a few percent, `supervised` a quarter of the overdue ones;
- timeline rows for every step (submit, accept/reject, dispatch, claim, resolve, close), with one
  problem in twenty first sent to a wrong department and returned; ratings of most resolutions;
  six visits per cadre link.
"""

from __future__ import annotations

import time
from datetime import datetime

from seeds.activity import THEMES

# The days of history before `until` the problems are spread over.
HISTORY_DAYS = 2400


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def recreate_database(url: str) -> None:
    import psycopg

    base, name = libpq_url(url).rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    base, name = libpq_url(url).rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(url: str):
    from service_app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_JSON": False, "LOG_LEVEL": "WARNING"})


def enterprise_count(problems: int) -> int:
    return max(2000, problems // 200)


def _themes_sql() -> str:
    phrases = [phrase for phrases in THEMES.values() for phrase in phrases]
    return "ARRAY[" + ",".join(f"'{p}'" for p in phrases) + "]"


GENERATE = """
SELECT setseed(0.2019);
INSERT INTO enterprises (name, credit_code, lat, lng, park_id, chain_id, scale, created_at, updated_at)
SELECT 'bench enterprise ' || i, 'B' || lpad(i::text, 17, '0'), 27.80 + random() * 0.08, 113.03 + random() * 0.12,
       (SELECT array_agg(id ORDER BY id) FROM parks)[1 + i % 6],
       (SELECT array_agg(id ORDER BY id) FROM chains)[1 + (i / 6) % 6],
       'small', now(), now()
FROM generate_series(1, {enterprises}) i;
INSERT INTO users (username, name, role, password_hash, enterprise_id, is_active, is_lead, created_at, updated_at)
SELECT 'bent' || e.id, 'bench ent ' || e.id, 'enterprise', 'x', e.id, true, false, now(), now() FROM enterprises e;
-- Cadres in groups of three for every six enterprises: linked to 1, 2 and 3 of them.
INSERT INTO users (username, name, role, password_hash, is_active, is_lead, created_at, updated_at)
SELECT 'bcadre' || n, 'bench cadre ' || n, 'cadre', 'x', true, false, now(), now() FROM generate_series(1,
       3 * (({enterprises} + 5) / 6)) n;
-- The first of a department's two staff users leads it (assigns its problems, hears of unclaimed ones).
INSERT INTO users (username, name, role, password_hash, department_id, is_active, is_lead, created_at, updated_at)
SELECT 'bdept' || d.id || '_' || s, 'bench dept ' || d.id, 'department', 'x', d.id, true, s = 1, now(), now()
FROM departments d CROSS JOIN generate_series(1, 2) s;
INSERT INTO users (username, name, role, password_hash, is_active, is_lead, created_at, updated_at)
VALUES ('bmanager', 'bench manager', 'manager', 'x', true, false, now(), now());

CREATE TEMP TABLE cadres AS SELECT substr(username, 7)::int AS n,
       id AS cadre_id FROM users WHERE role = 'cadre' AND username LIKE 'bcadre%';
CREATE TEMP TABLE ents AS
SELECT k, enterprise_id, user_id, c.cadre_id
FROM (SELECT row_number() OVER (ORDER BY e.id) AS k, e.id AS enterprise_id, u.id AS user_id
      FROM enterprises e JOIN users u ON u.enterprise_id = e.id) e
JOIN cadres c ON c.n = 3 * ((e.k - 1) / 6) + CASE WHEN (e.k - 1) % 6 = 0 THEN 1 WHEN (e.k - 1) % 6 < 3 THEN 2
       ELSE 3 END;
INSERT INTO cadre_links (cadre_id, enterprise_id, role, started_on, created_at)
SELECT cadre_id, enterprise_id, 'primary', DATE '2019-01-01', now() FROM ents;
-- History: one enterprise in ten had another cadre before.
INSERT INTO cadre_links (cadre_id, enterprise_id, role, started_on, ended_at, created_at)
SELECT c.cadre_id, e.enterprise_id, 'primary', DATE '2018-01-01', timestamptz '2018-12-31', now()
FROM ents e JOIN cadres c ON c.n = 1 + (e.k * 7) % (SELECT count(*) FROM cadres) WHERE e.k % 10 = 0
       AND c.cadre_id <> e.cadre_id;
CREATE TEMP TABLE cats AS
SELECT row_number() OVER (ORDER BY c.id) AS k, c.id AS category_id, c.default_department_id,
       c.resolve_days * 24 AS sla_hours,
       (SELECT min(u.id) FROM users u WHERE u.department_id = c.default_department_id) AS staff_id
FROM categories c;

-- One row per problem with its random draws and the times of every step it would reach.
-- Ids ascend with the filing time, as they do when problems are filed one after another.
CREATE TEMP TABLE draws AS
SELECT row_number() OVER (ORDER BY g.created) AS i, e.enterprise_id, e.user_id, e.cadre_id, c.category_id,
       c.default_department_id, c.staff_id, g.urgent, g.rt, g.rsup,
       g.created, g.created + g.rr * interval '40 hours' AS responded,
       g.created + c.sla_hours * interval '1 hour' * CASE WHEN g.urgent THEN 0.5 ELSE 1 END AS due,
       g.created + g.rr * interval '40 hours' + interval '1 hour' AS dispatch_at,
       g.created + g.rr * interval '40 hours' + interval '1 hour' + g.rc * interval '24 hours' AS claim_at,
       g.created + g.rx * c.sla_hours * interval '1.6 hours' + interval '2 hours' AS resolve_at,
       g.created + g.rx * c.sla_hours * interval '1.6 hours' + interval '2 hours'
           + (1 + g.rc * 6) * interval '1 day' AS close_at,
       g.rj < 0.06 AS rejected, g.rk < 0.02 AS stuck, g.rd < 0.8 AS via_department
FROM (
    SELECT 1 + floor({enterprises} * power(random(), 1.5))::int AS ek, 1 + floor(random() * 9)::int AS ck,
           random() < 0.08 AS urgent, random() AS rr, random() AS rx, random() AS rc, random() AS rj, random() AS rk,
           random() AS rd, random() AS rt, random() AS rsup,
           {until} - random() * interval '{days} days' AS created
    FROM generate_series(1, {problems}) i
) g
JOIN ents e ON e.k = g.ek
JOIN cats c ON c.k = g.ck;

CREATE TEMP TABLE shaped AS
SELECT d.*, s.status,
       s.status NOT IN ('submitted', 'rejected', 'accepted') AND d.via_department AS dispatched,
       (s.status = 'in_progress' OR s.status IN ('resolved', 'closed') AND d.via_department) AS claimed,
       s.status IN ('submitted', 'accepted', 'dispatched', 'in_progress')
           AND d.due < {until} AND d.rsup < 0.25 AS supervised
FROM draws d
CROSS JOIN LATERAL (SELECT CASE
    WHEN d.responded > {until} THEN 'submitted'
    WHEN d.rejected THEN 'rejected'
    WHEN NOT d.stuck AND d.close_at <= {until} THEN 'closed'
    WHEN NOT d.stuck AND d.resolve_at <= {until} THEN 'resolved'
    WHEN d.via_department AND d.claim_at <= {until} THEN 'in_progress'
    WHEN d.via_department AND d.dispatch_at <= {until} THEN 'dispatched'
    ELSE 'accepted' END AS status) s;

INSERT INTO problems (id, code, enterprise_id, category_id, title, description, urgent, status, filed_by_id, cadre_id,
                      department_id, handler_id, supervised, supervised_at, reopen_count, created_at, updated_at,
                      response_due_at, first_response_at, due_at, accepted_at, dispatched_at, claimed_at, resolved_at,
                      closed_at, version)
SELECT i, 'B-' || i, enterprise_id, category_id, ({themes})[1 + floor(rt * {theme_count})::int], 'bench', urgent,
       status, user_id, cadre_id,
       CASE WHEN dispatched THEN default_department_id END,
       CASE WHEN claimed THEN staff_id WHEN status NOT IN ('submitted', 'dispatched') THEN cadre_id END,
       supervised, CASE WHEN supervised THEN least(due + interval '1 day', {until}) END, 0,
       created,
       greatest(created, CASE WHEN status <> 'submitted' THEN responded END, CASE WHEN dispatched THEN dispatch_at END,
                CASE WHEN claimed THEN claim_at END, CASE WHEN status IN ('resolved', 'closed') THEN resolve_at END,
                CASE WHEN status = 'closed' THEN close_at END,
                CASE WHEN supervised THEN least(due + interval '1 day', {until}) END),
       created + interval '24 hours',
       CASE WHEN status <> 'submitted' THEN responded END,
       due,
       CASE WHEN status NOT IN ('submitted', 'rejected') THEN responded END,
       CASE WHEN dispatched THEN dispatch_at END,
       CASE WHEN claimed THEN claim_at END,
       CASE WHEN status IN ('resolved', 'closed') THEN resolve_at END,
       CASE WHEN status = 'closed' THEN close_at END,
       1
FROM shaped ORDER BY i;
SELECT setval(pg_get_serial_sequence('problems', 'id'), (SELECT max(id) FROM problems));

INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, internal, created_at)
SELECT i, user_id, 'submit', NULL, 'submitted', false, created FROM shaped ORDER BY i;
INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, internal, created_at)
SELECT i, cadre_id, CASE WHEN status = 'rejected' THEN 'reject' ELSE 'accept' END, 'submitted',
       CASE WHEN status = 'rejected' THEN 'rejected' ELSE 'accepted' END, false, responded
FROM shaped WHERE status <> 'submitted';
-- One in twenty was first sent to the wrong department and returned.
INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, department_id, internal, created_at)
SELECT i, cadre_id, 'dispatch', 'accepted', 'dispatched',
       (SELECT min(id) FROM departments) + (default_department_id + i) % 12, false,
       responded + interval '20 minutes'
FROM shaped WHERE dispatched AND i % 20 = 0;
INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, reason_code, internal, created_at)
SELECT i, NULL, 'return', 'dispatched', 'accepted', 'wrong_department', false, responded + interval '40 minutes'
FROM shaped WHERE dispatched AND i % 20 = 0;
INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, department_id, internal, created_at)
SELECT i, cadre_id, 'dispatch', 'accepted', 'dispatched', default_department_id, false,
       dispatch_at FROM shaped WHERE dispatched;
INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, internal, created_at)
SELECT i, staff_id, 'claim', 'dispatched', 'in_progress', false, claim_at FROM shaped WHERE claimed;
INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, internal, created_at)
SELECT i, CASE WHEN claimed THEN staff_id ELSE cadre_id END, 'resolve',
       CASE WHEN claimed THEN 'in_progress' ELSE 'accepted' END,
       'resolved', false, resolve_at
FROM shaped WHERE status IN ('resolved', 'closed');
INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, internal, created_at)
SELECT i, NULL, 'close', 'resolved', 'closed', false, close_at FROM shaped WHERE status = 'closed';
INSERT INTO problem_events (problem_id, actor_id, action, from_status, to_status, internal, created_at)
SELECT i, NULL, 'supervise', status, status, false, least(due + interval '1 day', {until}) FROM shaped WHERE supervised;

INSERT INTO ratings (problem_id, enterprise_id, rated_by_id, resolution_no, score, created_at)
SELECT id, enterprise_id, filed_by_id, 0, (ARRAY[1, 2, 3, 4, 4, 5, 5, 5, 5, 5])[1 + floor(random() * 10)::int],
       closed_at
FROM problems WHERE status = 'closed' AND random() < 0.7;
INSERT INTO ratings (problem_id, enterprise_id, rated_by_id, resolution_no, score, created_at)
SELECT problem_id, enterprise_id, rated_by_id, 1, 4,
       created_at + interval '3 days' FROM ratings WHERE score <= 2 AND problem_id % 2 = 0;
INSERT INTO visits (client_id, cadre_id, enterprise_id, recorded_at, received_at, lat, lng, accuracy_m, distance_m,
                    within_geofence,
                    flags, flagged, mock_location, auto_closed, updated_at)
SELECT 'b-' || l.id || '-' || n, l.cadre_id, l.enterprise_id, ts, ts, 27.84, 113.08, 10, 50, true, '[]'::json,
       false, false, false, ts
FROM cadre_links l CROSS JOIN generate_series(1, 6) n
CROSS JOIN LATERAL (SELECT {until} - random() * interval '{days} days' AS ts) t;
"""


def generate(url: str, *, problems: int, until: datetime) -> dict:
    """A fresh, migrated database at `url` holding `problems` problems filed before `until`."""
    import psycopg
    from flask_migrate import upgrade

    import seeds.reference
    from service_app.extensions import db

    recreate_database(url)
    app = make_app(url)
    with app.app_context():
        upgrade()
        seeds.reference.load()
        db.engine.dispose()
    sql = GENERATE.format(
        enterprises=enterprise_count(problems),
        problems=problems,
        until=f"timestamptz '{until.isoformat()}'",
        days=HISTORY_DAYS,
        themes=_themes_sql(),
        theme_count=sum(len(v) for v in THEMES.values()),
    )
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute(sql)
        connection.execute("VACUUM ANALYZE")
        tables = ("problems", "problem_events", "ratings", "visits", "enterprises", "cadre_links")
        counts = {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}
    counts["generate_s"] = round(time.perf_counter() - started, 1)
    return counts
