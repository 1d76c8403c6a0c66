"""Headless Chromium from Debian's packages, driven by Selenium through Debian's chromedriver.

`ensure_chromium()` installs `chromium`, `chromium-driver` and `fonts-noto-cjk` (the screenshots
show Chinese) with apt-get when they are missing, as `make bench` does for wrk. Under CI=true a
missing browser is installed, and a failed installation fails the run; elsewhere the browser tests
are skipped when it cannot be installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CJK_FONT_DIR = Path("/usr/share/fonts/opentype/noto")
PACKAGES = ("chromium", "chromium-driver", "fonts-noto-cjk")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def _installed() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists() and any(CJK_FONT_DIR.glob("NotoSansCJK*"))


def ensure_chromium() -> str | None:
    """None when the browser is ready, else why not (after trying apt-get)."""
    if _installed():
        return None
    apt = shutil.which("apt-get")
    if apt is None:
        return "apt-get not found"
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run([*sudo, apt, *lock, "update", "-qq"], check=True, capture_output=True, timeout=900, env=env)
        subprocess.run(
            [*sudo, apt, *lock, "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
            check=True, capture_output=True, timeout=1800, env=env,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        return f"apt-get install {' '.join(PACKAGES)} failed: {error} {detail.decode(errors='replace')[-500:]}"
    return None if _installed() else "chromium or chromedriver still missing after apt-get"


class Browser:
    """One headless Chromium with a fresh profile; the browser log and CDP network events recorded."""

    def __init__(self, *, width: int = 1920, height: int = 1080, language: str = "zh-CN") -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="dashboard-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.add_argument(f"--lang={language}")
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(60)

    def viewport(self, width: int, height: int, *, mobile: bool = False, scale: float = 1) -> None:
        """Exactly this CSS viewport (the window size includes no browser UI headless, but be exact)."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile},
        )

    def screenshot(self, path: Path, *, full_page: bool = False) -> None:
        import base64

        options = {"format": "png", "captureBeyondViewport": full_page}
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", options)
        Path(path).write_bytes(base64.b64decode(shot["data"]))

    def console_errors(self) -> list[dict]:
        """Browser log entries at SEVERE level (console errors, failed loads, CSP violations)."""
        return [entry for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for, from the DevTools network events (fetches, scripts, images)."""
        import json

        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
