"""`GET /dashboard`: the page, its scripts, styles and the vendored ECharts, under a strict CSP."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from service_app.dashboard import ECHARTS_VERSION

blp = Blueprint(
    "dashboard", __name__, url_prefix="/dashboard",
    template_folder="templates", static_folder="static", static_url_path="/static",
)

# Everything from this origin only; no inline script or style, no eval, no plugins, no framing.
# `img-src data: blob:` lets ECharts' "save as image" and the export download work.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@blp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@blp.route("", methods=["GET"])
def page():
    """The dashboard page: the login form and the panels, filled by the scripts."""
    response = Response(render_template("dashboard/index.html", echarts_version=ECHARTS_VERSION))
    # The page holds no data (the scripts fetch it with the token), but always take the current scripts.
    response.headers["Cache-Control"] = "no-cache"
    return response
