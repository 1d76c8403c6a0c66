"""Operator commands: the first admin of a production database, and the seed loader."""

from __future__ import annotations

from sqlalchemy import select

from service_app.auth.models import User
from service_app.extensions import db
from tests.helpers import login


def test_create_admin_then_log_in(app, client, app_ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--username", "firstadmin"], env={"ADMIN_PASSWORD": "Zone@Admin2026"})
    assert result.exit_code == 0, result.output
    assert "admin firstadmin created" in result.output
    assert db.session.scalar(select(User.role).where(User.username == "firstadmin")) == "admin"
    assert login(client, "firstadmin", "Zone@Admin2026")["user"]["role"] == "admin"
    again = runner.invoke(args=["create-admin", "--username", "firstadmin"], env={"ADMIN_PASSWORD": "Zone@Admin2026"})
    assert again.exit_code != 0 and "exists" in again.output


def test_create_admin_refuses_a_weak_password(app, app_ctx):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--username", "weakadmin"], env={"ADMIN_PASSWORD": "12345678"}
    )
    assert result.exit_code != 0
    assert db.session.scalar(select(User.id).where(User.username == "weakadmin")) is None


def test_seed_reference_is_idempotent(app, app_ctx):
    result = app.test_cli_runner().invoke(args=["seed", "--data", "reference"])
    assert result.exit_code == 0, result.output
    assert "parks +0" in result.output
