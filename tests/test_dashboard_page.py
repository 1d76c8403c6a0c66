"""The dashboard page as served: a strict CSP, no inline script or style, everything from this origin,
ECharts vendored with its licence files. (Its behaviour is tested in a browser: test_dashboard_browser.py.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from service_app.dashboard import ECHARTS_VERSION
from service_app.dashboard.routes import CONTENT_SECURITY_POLICY

STATIC = Path(__file__).resolve().parent.parent / "service_app" / "dashboard" / "static"


class _Inline(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block, and every URL the page names."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "style" or "style" in names or any(name.startswith("on") for name in names):
            self.inline.append(tag)
        if tag == "script" and "src" not in names:
            self.inline.append("script")
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_page_is_served_with_a_strict_content_security_policy(client):
    response = client.get("/dashboard")
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy and "http" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    parsed = _Inline()
    parsed.feed(response.get_data(as_text=True))
    assert parsed.inline == []
    assert parsed.urls and all(url.startswith("/dashboard/static/") for url in parsed.urls)
    for url in parsed.urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_scripts_import_only_modules_of_this_origin():
    for script in (STATIC / "js").glob("*.js"):
        source = script.read_text()
        for target in re.findall(r'(?:import|from)\s+[^"\']*["\']([^"\']+)["\']', source):
            assert target.startswith(("./", "../vendor/")), (script.name, target)
        assert "localStorage.setItem" not in source and "innerHTML" not in source and "eval(" not in source
    module = STATIC / "vendor" / "echarts" / "echarts.esm.min.js"
    assert module.exists() and "http://" not in module.read_text()[:200]


def test_echarts_is_vendored_with_its_licence_and_version():
    vendor = STATIC / "vendor" / "echarts"
    assert "Apache License" in (vendor / "LICENSE").read_text()
    assert "Apache ECharts" in (vendor / "NOTICE").read_text()
    assert f"echarts@{ECHARTS_VERSION}" in (vendor / "VERSION").read_text()
    assert f'"{ECHARTS_VERSION}"' in (vendor / "echarts.esm.min.js").read_text()


def test_unknown_static_file_is_404(client):
    assert client.get("/dashboard/static/js/nothing.js").status_code == 404
