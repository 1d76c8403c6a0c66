"""Operator commands: `flask seed`, `flask create-admin`, `flask calendar load`."""

from __future__ import annotations

import os

import click
from flask import Flask
from sqlalchemy import select


def init_app(app: Flask) -> None:
    @app.cli.command("seed")
    @click.option(
        "--data",
        "kind",
        default=lambda: os.environ.get("SEED", "demo"),
        show_default="$SEED or demo",
        type=click.Choice(["demo", "reference", "none"]),
    )
    def seed(kind: str) -> None:
        """Load reference data, or the demo data set (idempotent)."""
        import seeds
        from seeds.demo import OutdatedDemo

        try:
            counts = seeds.load(kind)
        except OutdatedDemo as error:
            raise click.ClickException(str(error)) from None
        click.echo(
            f"seed {kind}: " + ", ".join(f"{k} +{v}" for k, v in counts.items())
            if counts
            else f"seed {kind}: nothing to load"
        )
        if counts:
            # So the statistics show the seeded figures at once, not after the scheduler's first tick.
            from flask import current_app

            from service_app import scheduler

            for name in ("stats.snapshot", "stats.trends"):
                result = scheduler.run_once(current_app._get_current_object(), name)
                click.echo(f"{name}: {result.outcome}, rows {result.rows_affected}")

    @app.cli.group("calendar")
    def calendar() -> None:
        """The working-day calendar (DESIGN §11)."""

    @calendar.command("load")
    def load_calendar() -> None:
        """Insert every year the chinesecalendar package covers that the database lacks (idempotent)."""
        from service_app.problems import deadlines

        years = deadlines.load_package()
        click.echo(f"calendar: loaded {', '.join(map(str, years))}" if years else "calendar: nothing to load")

    @app.cli.command("create-admin")
    @click.option("--username", required=True)
    @click.option("--name", default="系统管理员")
    @click.password_option(envvar="ADMIN_PASSWORD", help="Prompted for when ADMIN_PASSWORD is unset.")
    def create_admin(username: str, name: str, password: str) -> None:
        """Create an admin account (the first account of a production database)."""
        from service_app.auth import service
        from service_app.auth.models import Role, User
        from service_app.errors import AppError
        from service_app.extensions import db

        if db.session.scalar(select(User.id).where(User.username == username.lower())):
            raise click.ClickException(f"user {username!r} exists")
        try:
            user = service.create_user(username=username, password=password, name=name, role=Role.ADMIN.value)
        except AppError as error:
            raise click.ClickException(f"{error.message}: {error.errors or ''}") from None
        click.echo(f"admin {user.username} created (id {user.id})")
