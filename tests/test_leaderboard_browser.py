"""The HTML page in a real browser: Debian's chromium (/usr/bin/chromium) driven by Playwright's
Python package, which never downloads a browser here. Offline: every non-file request is
blocked and counted. Sorts a table, checks the order, checks each chart drew, saves a screenshot.

CI installs: ``apt-get install -y chromium`` and ``pip install playwright`` (no ``playwright
install``: the system chromium is used).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from emplifai.leaderboard import write_leaderboard
from emplifai.leaderboard.collect import REFERENCE_LABEL

from .fixtures.leaderboard.scripted import scripted_logs

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Skipped on a developer machine without chromium; in CI (CI=true, where .ci/run installs it) a
# missing browser is a failure, never a silent skip.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed (apt-get install -y chromium)"
)


def _order(page, table: str) -> list[str]:
    return page.eval_on_selector_all(f"#{table} tbody td[data-key=candidate]", "cells => cells.map(c => c.textContent)")


def test_page_sorts_and_draws_every_chart(tmp_path, tmp_path_factory):
    if os.environ.get("CI"):
        import playwright.sync_api as sync_api  # a dev extra: in CI its absence is a failure
    else:
        sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    logs = scripted_logs(tmp_path_factory)
    paths = write_leaderboard(logs.log_dir, tmp_path / "out", paper_rows=True)
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    [board] = [b for b in doc["boards"] if b["task"] == "generation" and len(b["rows"]) == 4]
    table = f"table-{board['id']}"

    outside: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1500, "height": 1000},
        )
        try:
            def block(route):
                if not route.request.url.startswith("file://"):
                    outside.append(route.request.url)
                    return route.abort()
                return route.continue_()

            context.route("**/*", block)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(paths["html"].resolve().as_uri(), wait_until="load")

            # as written: by rank
            assert _order(page, table) == ["mockllm/alpha", "mockllm/gamma", "mockllm/beta", REFERENCE_LABEL]
            header = page.locator(f"#{table} thead th[data-key=overall]")
            header.click()
            assert _order(page, table) == [REFERENCE_LABEL, "mockllm/beta", "mockllm/gamma", "mockllm/alpha"]
            assert header.get_attribute("aria-sort") == "ascending"
            header.click()
            assert _order(page, table) == ["mockllm/alpha", "mockllm/gamma", "mockllm/beta", REFERENCE_LABEL]
            page.locator(f"#{table} thead th[data-key=candidate]").click()
            assert _order(page, table) == sorted(_order(page, table))

            charts = page.eval_on_selector_all(
                ".lb-chart",
                """divs => divs.map(d => ({kind: d.dataset.chart, board: d.dataset.board,
                    svg: d.querySelectorAll('.main-svg').length, traces: d.querySelectorAll('.trace, .hm image').length,
                    width: d.querySelector('.main-svg') ? d.querySelector('.main-svg').getBoundingClientRect().width : 0,
                    cell: d.getBoundingClientRect().width}))""",
            )
            kinds = sorted(c["kind"] for c in charts if c["board"] == board["id"])
            assert kinds == ["bars", "heatmap", "profile", "scatter"]
            assert len(charts) == 3 * 4 + 2
            for chart in charts:
                assert chart["svg"] > 0 and chart["traces"] > 0, chart
                assert chart["width"] <= chart["cell"] + 1, chart  # drawn inside its cell, not clipped
            shot = tmp_path / "leaderboard.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            context.close()
    assert shot.stat().st_size > 50_000
    assert outside == [], f"the page asked for resources outside the file: {outside}"
    assert errors == []
