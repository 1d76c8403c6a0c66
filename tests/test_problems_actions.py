"""The workflow's action records agree with each other, with the routes and with the API document."""

from __future__ import annotations

import inspect
import re

from sqlalchemy import inspect as sa_inspect

from service_app.notifications.messages import KINDS
from service_app.problems import workflow
from service_app.problems.models import STATUSES, Problem

ACTION_ROUTE = re.compile(r"^/api/v1/problems/<int:problem_id>/(\w+)$")
# POST endpoints under /problems/{id}/ that are not POST /problems/{id}/{action}: the `rate` record's own.
OTHER_ENDPOINTS = {"rating"}


def test_every_record_is_complete():
    columns = {attr.key for attr in sa_inspect(Problem).column_attrs}
    for name, spec in workflow.ACTIONS.items():
        assert spec.name == name
        assert spec.moves, f"{name}: no transition"
        assert spec.zh and spec.en, f"{name}: no label"
        for state, rule in spec.moves.items():
            assert state is None or state in STATUSES, (name, state)
            assert rule.to is None or rule.to in STATUSES, (name, rule.to)
            assert rule.who, f"{name} from {state}: nobody may do it"
        assert spec.stamp is None or spec.stamp in columns, (name, spec.stamp)
        assert all(notice.kind in KINDS and notice.to for notice in spec.notices), name
        # An endpoint needs its body, its checks and its OpenAPI summary; a consequence has none.
        routed = (spec.schema is not None, spec.prepare is not None, spec.summary is not None)
        assert routed in ((True, True, True), (False, False, False)), name
        assert spec.asked or spec.schema is None, f"{name} is not asked for but has an endpoint"


def test_each_prepare_takes_exactly_its_schema_fields():
    for spec in workflow.ROUTED:
        parameters = list(inspect.signature(spec.prepare).parameters.values())
        assert [p.name for p in parameters[:3]] == ["actor", "problem", "now"], spec.name
        keywords = {p.name for p in parameters[3:] if p.kind is inspect.Parameter.KEYWORD_ONLY}
        assert keywords == set(spec.schema().fields), spec.name


def test_routes_and_records_match_one_to_one(app, client):
    routed = {
        match.group(1)
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and (match := ACTION_ROUTE.match(rule.rule))
    }
    assert routed - OTHER_ENDPOINTS == {spec.name for spec in workflow.ROUTED}
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for spec in workflow.ROUTED:
        operation = paths[f"/api/v1/problems/{{problem_id}}/{spec.name}"]["post"]
        assert operation["summary"] == spec.summary
        assert set(operation["responses"]) >= {"200", "404", "409", "412", "422"}


def test_the_transition_table_is_the_records():
    assert workflow.TRANSITIONS == {
        (state, name): rule for name, spec in workflow.ACTIONS.items() for state, rule in spec.moves.items()
    }
    # A client can ask only for what some role may do; consequences are listed nowhere.
    for name, spec in workflow.ACTIONS.items():
        assert workflow.roles_for(name) or not spec.asked, name

