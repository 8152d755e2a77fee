"""Untrusted text stays text: a model name, a dialogue, a judge's rationale and a situation carrying
``<script>``, an ``onerror`` attribute and ``|`` reach every output (HTML page, candidate page,
Markdown, CSV) as text, and in headless Chromium no script of theirs runs. Also: Japanese labels
render as glyphs (a CJK font in the page's font stack), and an unwritable --out is one line."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inspect_ai.log import read_eval_log, write_eval_log

from emplifai.leaderboard import write_leaderboard
from emplifai.leaderboard.export import csv_text
from emplifai.leaderboard.render_markdown import md_code, md_text

from .fixtures.leaderboard.scripted import scripted_logs

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]

PAYLOAD = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">|a|b'
EVIL_MODEL = "mockllm/evil" + PAYLOAD


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    """alpha's real generation log with the payload in its model name, dialogues, rationales and situations."""
    logs = scripted_logs(tmp_path_factory)
    root = tmp_path_factory.mktemp("hostile")
    log = read_eval_log(logs.logs["alpha"].location)
    log.eval.model = EVIL_MODEL
    for sample in log.samples or []:
        sample.output.choices[0].message.content = sample.output.completion + "\n" + PAYLOAD
        sample.metadata["situation"] = sample.metadata["situation"] + PAYLOAD
        meta = sample.scores["rubric_judge"].metadata
        meta["rationales"] = {k: "理由 " + PAYLOAD for k in meta["rationales"]}
    write_eval_log(log, str(root / "logs" / "evil.eval"))
    shutil.copy(logs.logs["beta"].location, root / "logs")
    paths = write_leaderboard(root / "logs", root / "out")
    return paths


def _no_markup(text: str) -> None:
    # the payload's tags never appear as tags (its attribute text may, inside escaped text)
    assert "<script>window" not in text and "<img" not in text


def test_html_pages_escape_the_payload(evil):
    page = evil["html"].read_text(encoding="utf-8")
    _no_markup(page)
    assert "&lt;script&gt;window.__pwned" in page  # shown as text, in the tables
    [cand] = [p for p in evil["candidates"].glob("*.html") if "evil" in p.read_text(encoding="utf-8")]
    text = cand.read_text(encoding="utf-8")
    _no_markup(text)
    assert text.count("&lt;img src=x onerror=") >= 3  # dialogue, rationale, situation, title


def test_markdown_escapes_html_and_pipes(evil):
    md = evil["markdown"].read_text(encoding="utf-8")
    _no_markup(md)
    rows = [line for line in md.splitlines() if "evil" in line and line.startswith("|")]
    assert rows
    def breaks(line: str) -> int:  # the | that end cells: those not escaped
        return len(re.findall(r"(?<!\\)\|", line))

    tables = [block.splitlines() for block in md.split("\n\n") if block.startswith("| ")]
    assert any("evil" in "".join(t) for t in tables)
    for table in tables:
        for row in table:
            assert breaks(row) == breaks(table[0]), row  # every | inside a cell is escaped


def test_csv_keeps_the_name_as_one_cell(evil):
    with evil["csv"].open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert EVIL_MODEL in {r["candidate"] for r in rows}
    assert csv_text("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_text("-1+2") == "'-1+2" and csv_text("mockllm/a") == "mockllm/a" and csv_text(3.5) == 3.5


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed")
def test_no_script_runs_in_chromium_and_japanese_renders_as_glyphs(evil, tmp_path):
    if os.environ.get("CI"):
        import playwright.sync_api as sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    [cand] = [p for p in evil["candidates"].glob("*.html") if "evil" in p.read_text(encoding="utf-8")]
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            dialogs: list[str] = []
            errors: list[str] = []
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            for url in (evil["html"], cand):
                page.goto(url.resolve().as_uri(), wait_until="load")
                assert page.evaluate("window.__pwned") is None, url
                assert page.locator("img[src=x]").count() == 0
                assert "<script>window.__pwned = 1</script>" in page.inner_text("body")
            # the heatmap's Japanese labels are glyphs: drawn in the label's own font, three different
            # words give three different images (missing glyphs would all be the same box)
            page.goto(evil["html"].resolve().as_uri(), wait_until="load")
            font = page.evaluate("getComputedStyle(document.querySelector('.xtick text')).fontFamily")
            assert "Noto Sans CJK JP" in font
            images = page.evaluate(
                """font => ['感謝', '喜び', '恐れ'].map(t => {
                     const c = document.createElement('canvas'); c.width = 160; c.height = 48;
                     const x = c.getContext('2d'); x.font = '32px ' + font; x.fillText(t, 4, 38);
                     return Array.from(x.getImageData(0, 0, 160, 48).data).join(','); })""",
                font,
            )
            assert len(set(images)) == 3
            labels = page.evaluate("Array.from(document.querySelectorAll('.xtick text')).map(t => t.textContent)")
            assert any("喜び" in label for label in labels)
        finally:
            context.close()
    assert dialogs == [] and errors == []


def test_unwritable_out_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "emplifai"), "leaderboard", str(tmp_path), "--out", str(blocker / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--out" in done.stderr and "cannot write" in done.stderr


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_markdown_text_never_opens_a_tag_or_ends_a_cell(text):
    out = md_text(text)
    assert "<" not in out and ">" not in out and "\n" not in out and "\r" not in out
    # every | left is escaped (after setting escaped backslashes aside)
    assert not re.search(r"(?<!\\)\|", out.replace("\\\\", ""))
    assert md_code(text).startswith("`") == (not any(c in text for c in "`|\n\r"))


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_csv_text_shows_as_text(text):
    out = csv_text(text)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r")) and out.endswith(text)


def test_a_board_whose_judge_gives_one_score_to_everything(tmp_path: Path) -> None:
    """Constant scores leave the length-controlled fit without variance: the board still builds,
    with the raw mean as the length-controlled mean and no interval (the fit returns None bounds)."""
    import json
    import math

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    from emplifai.judge_metrics import METRIC_KEYS
    from emplifai.leaderboard import build
    from emplifai.tasks.generation import generation

    def five(messages, tools, tool_choice, config):  # noqa: ANN001, ANN202
        verdict = {k: {"rationale": "丁寧に受け止めている。", "score": 5} for k in METRIC_KEYS}
        out = ModelOutput.from_content("mockllm/five", json.dumps(verdict, ensure_ascii=False))
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    [log] = inspect_eval(generation(n=3, source="reference"), model="none/none",
                         model_roles={"grader": get_model("mockllm/five", custom_outputs=five)},
                         log_dir=str(tmp_path / "logs"), display="none")
    assert log.status == "success", log.error
    [board] = [b for b in build(tmp_path / "logs").boards if b.task == "generation"]
    [row] = board.rows.to_dict("records")
    assert row["overall_lc"] == 5.0 and math.isnan(row["overall_lc_ci_low"]) and math.isnan(row["overall_lc_ci_high"])
    paths = write_leaderboard(tmp_path / "logs", tmp_path / "out")
    assert paths["html"].exists()
