"""End to end in headless Chromium (Debian's /usr/bin/chromium) driven by Playwright: the real app, the tiny graph."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
import tomllib
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


def _listening(port: int) -> list[str]:
    """The local addresses of the sockets listening on `port`, read from /proc/net/tcp and tcp6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = [raw[i : i + 4][::-1] for i in range(0, len(raw), 4)]  # each 32-bit word little-endian
                found.append(str(ipaddress.ip_address(b"".join(words))))
    return found


@pytest.fixture(scope="module")
def app_server(indexed_kg: Path) -> Iterator[tuple[str, int]]:
    """The app served as a user starts it, from the project root (so `.streamlit/config.toml` applies)."""
    port = _free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
    ]  # fmt: skip
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "KGSEARCH_KG": str(indexed_kg)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
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
        yield url, port
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture()
def app_url(app_server: tuple[str, int]) -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return app_server[0]


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket tables")
def test_the_app_listens_on_127_0_0_1_only(app_server: tuple[str, int]) -> None:
    assert _listening(app_server[1]) == ["127.0.0.1"]


def test_the_config_keeps_the_app_local_and_private() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1" and config["browser"]["gatherUsageStats"] is False
    assert config["server"]["fileWatcherType"] == "none"


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
        for expander in page.get_by_text("Path as a graph").all()[:2]:  # the film's and its director's, either order
            expander.click()  # the director's path goes through a triple
        page.locator("svg").filter(has_text="director").first.wait_for(timeout=60_000)  # the explanation graph
        page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)

        page.get_by_role("tab", name="Entity").click()
        page.get_by_label("Find an entity").fill("Theresa")
        page.get_by_label("Find an entity").press("Enter")
        page.get_by_role("heading", name="Theresa Connelly", exact=True).wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "entity.png"), full_page=True)

        page.get_by_role("tab", name="SPARQL").click()
        page.get_by_role("button", name="Run query").click()
        page.get_by_text("rows.").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "sparql.png"), full_page=True)
        browser.close()
    outside = sorted({url for url in requested if urlparse(url).hostname not in ("127.0.0.1", None)})
    assert not [u for u in outside if not u.startswith(("data:", "blob:"))], outside
    assert any(urlparse(url).hostname == "127.0.0.1" for url in requested)


def _outside(requested: list[str]) -> list[str]:
    return sorted({u for u in requested if urlparse(u).hostname not in ("127.0.0.1", None)})


def test_daily_use_in_a_real_browser_keeps_state_reads_well_and_stays_local(app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page.on("request", lambda request: requested.append(request.url))
        page.goto(app_url)
        page.get_by_label("Question").fill("Who is the mother of the director of Polish Wedding?")
        page.get_by_role("button", name="Search").click()
        page.get_by_text("Relation cues: mother").wait_for(timeout=60_000)
        page.get_by_role("heading", name="2. ").first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "daily-search.png"))  # one screen: more than one hit fits
        second = page.get_by_role("heading", name="2. ").first.bounding_box()
        assert second is not None and second["y"] < 900, second

        page.get_by_role("button", name="Entity: Theresa Connelly").first.click()
        card = page.get_by_role("heading", name="Theresa Connelly", exact=True).first
        card.wait_for(timeout=30_000)
        card.scroll_into_view_if_needed()
        page.wait_for_timeout(1_500)
        page.screenshot(path=str(ARTIFACTS / "daily-entity-under-hit.png"))
        assert page.get_by_role("heading", name="1. ").first.is_visible() or page.get_by_text("Relation cues").count()

        page.get_by_role("tab", name="Entity").click()
        page.get_by_label("Find an entity").fill("Lena")
        page.get_by_label("Find an entity").press("Enter")
        page.get_by_role("heading", name="Lena Olin").wait_for(timeout=30_000)
        neighbour = page.get_by_role("combobox", name="Go to a neighbour")
        neighbour.scroll_into_view_if_needed()
        neighbour.click()
        page.get_by_role("option", name="Polish Wedding").click()
        page.wait_for_timeout(500)  # the choice reaches the server
        page.get_by_role("button", name="Open neighbour").click()
        page.get_by_role("heading", name="Polish Wedding", exact=True).wait_for(timeout=30_000)
        page.wait_for_timeout(1_500)  # let the tables draw before the screenshot
        page.screenshot(path=str(ARTIFACTS / "daily-entity-neighbour.png"), full_page=True)

        page.get_by_role("tab", name="Overview").click()
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Download N-Quads").click()
        nquads = Path(download.value.path()).read_text(encoding="utf-8")
        assert "Theresa Connelly" in nquads and nquads.rstrip().endswith(".")
        page.screenshot(path=str(ARTIFACTS / "daily-overview.png"), full_page=True)
        browser.close()
    assert not [u for u in _outside(requested) if not u.startswith(("data:", "blob:"))], _outside(requested)
