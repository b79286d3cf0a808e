"""Seconds from pressing Search to the first hit on the page, in headless Chromium against the real app.

    python bench/app_first_result.py kg --questions data/sample/questions.jsonl --n 5 --json

Starts `streamlit run app.py` from the project root, as the README does (so `.streamlit/config.toml`
applies), on a free port over the graph, opens the page (the cached loaders run then), and for each
question types it, clicks Search and waits for the first hit's heading. Reports each time and the
median; the first question is the first search of the process.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("kg_dir")
    parser.add_argument("--questions", required=True)
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in Path(args.questions).read_text().splitlines()][: args.n]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        env={**os.environ, "KGSEARCH_KG": str(Path(args.kg_dir).resolve())},
        cwd=ROOT,  # where the README starts it: the project's .streamlit/config.toml applies
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        seconds = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page()
            started = time.monotonic()
            page.goto(url)
            page.get_by_label("Question").wait_for(timeout=120_000)
            page.get_by_role("button", name="Search").wait_for(timeout=120_000)
            opened = time.monotonic() - started
            for question in questions:
                page.goto(url)  # a fresh page: no earlier hit on it (the loaders stay cached in the process)
                page.get_by_label("Question").fill(question)
                tick = time.monotonic()
                page.get_by_role("button", name="Search").click()
                page.get_by_role("heading", name="1. ").first.wait_for(timeout=60_000)
                seconds.append(round(time.monotonic() - tick, 3))
            browser.close()
    finally:
        server.terminate()
    report = {"page_open_s": round(opened, 2), "first_result_s": seconds, "median_s": statistics.median(seconds)}
    print(json.dumps(report) if args.json else report)


if __name__ == "__main__":
    main()
