"""End to end in headless Chromium (Debian's /usr/bin/chromium) driven by Playwright: the real app, the tiny graph."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(indexed_kg: Path) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    port = _free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
        "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    server = subprocess.Popen(
        command, env={**os.environ, "KGSEARCH_KG": str(indexed_kg)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        server.kill()
        pytest.fail(f"the app did not start: {server.stderr.read().decode() if server.stderr else ''}")
    yield url
    server.terminate()
    server.wait(timeout=20)


def test_search_entity_and_sparql_in_a_real_browser_with_no_outside_requests(app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requested.append(request.url))
        page.goto(app_url)
        page.get_by_label("Question").fill("Who is the director of Polish Wedding?")
        page.get_by_role("button", name="Search").click()
        page.get_by_text("Theresa Connelly").first.wait_for(timeout=60_000)
        page.locator("svg").filter(has_text="director").first.wait_for(timeout=60_000)  # the explanation graph
        page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)

        page.get_by_role("tab", name="Entity").click()
        page.get_by_label("Find an entity").fill("Theresa")
        page.get_by_label("Find an entity").press("Enter")
        page.get_by_role("heading", name="Theresa Connelly").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "entity.png"), full_page=True)

        page.get_by_role("tab", name="SPARQL").click()
        page.get_by_role("button", name="Run query").click()
        page.get_by_text("rows.").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "sparql.png"), full_page=True)
        browser.close()
    outside = sorted({url for url in requested if urlparse(url).hostname not in ("127.0.0.1", None)})
    assert not [u for u in outside if not u.startswith(("data:", "blob:"))], outside
    assert any(urlparse(url).hostname == "127.0.0.1" for url in requested)
