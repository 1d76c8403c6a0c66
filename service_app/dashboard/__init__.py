"""The managers' dashboard (DESIGN §12): a web page served by the app, reading the same API.

Plain JavaScript modules and a vendored Apache ECharts build: nothing is fetched from another
host and nothing is built at run time. The page's responses carry a strict Content-Security-Policy.
"""

from __future__ import annotations

from flask import Flask

ECHARTS_VERSION = "6.1.0"


def init_app(app: Flask) -> None:
    from service_app.dashboard.routes import blp

    app.register_blueprint(blp)
