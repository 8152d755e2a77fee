"""The files the leaderboard writes (Markdown, CSV, JSON, HTML), the paper rows, logs that are not
counted, and the ``emplifai leaderboard`` command."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model

from emplifai.cli import EXIT_USER_ERROR
from emplifai.cli import main as cli_main
from emplifai.commands.leaderboard import register
from emplifai.errors import UserError
from emplifai.leaderboard import FILE_NAMES, build, write_leaderboard
from emplifai.leaderboard.collect import REFERENCE_LABEL
from emplifai.leaderboard.paper_rows import PAPER_FIGURES_PATH, PAPER_LABEL, PaperFiguresError, load_paper_figures
from emplifai.tasks.generation import generation

from .fixtures.leaderboard.scripted import DATA, candidate, scripted_logs


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return scripted_logs(tmp_path_factory)


@pytest.fixture(scope="module")
def written(logs, tmp_path_factory):
    out = tmp_path_factory.mktemp("lb-out")
    return write_leaderboard(logs.log_dir, out, paper_rows=True)


def test_writes_the_four_files_and_the_candidate_pages(written):
    assert set(FILE_NAMES) == {"markdown", "csv", "json", "html"}
    assert set(written) == {*FILE_NAMES, "candidates"}
    assert all(written[k].is_file() and written[k].stat().st_size > 0 for k in FILE_NAMES)
    # one page per generation candidate, each linked from the candidates x judges table
    page = written["html"].read_text(encoding="utf-8")
    pages = sorted(written["candidates"].glob("*.html"))
    assert len(pages) == 4
    for p in pages:
        assert f'href="candidates/{p.name}"' in page


def test_the_candidates_x_judges_table_opens_the_page(written, logs):
    doc = json.loads(written["json"].read_text(encoding="utf-8"))
    gen = [b for b in doc["boards"] if b["task"] == "generation"]
    summary = doc["summary"]
    assert [c["board"] for c in summary["columns"]] == [b["id"] for b in gen]
    # one row per generation candidate; the best rank first
    assert {r["candidate"] for r in summary["rows"]} == {r["candidate"] for b in gen for r in b["rows"]}
    first = summary["rows"][0]
    assert first["candidate"] == "mockllm/alpha"
    for board in gen:
        for row in board["rows"]:
            [mine] = [r for r in summary["rows"] if r["candidate"] == row["candidate"]]
            cell = mine["cells"][board["id"]]
            assert cell["rank"] == row["rank"] and cell["overall"] == pytest.approx(row["overall"])
            assert cell["board_size"] == len(board["rows"])
    page = written["html"].read_text(encoding="utf-8")
    assert page.index('id="summary"') < page.index('id="method"') < page.index('class="board"')
    md = written["markdown"].read_text(encoding="utf-8")
    assert md.index("## Candidates × judges") < md.index("## Method") < md.index("## Generation")
    # a reference row with one unscored sample shows its n beside the mean
    [ref] = [r for r in summary["rows"] if r["candidate"] == REFERENCE_LABEL]
    assert "n=9" in md.split(REFERENCE_LABEL.replace("(", "(").replace(")", ")"), 1)[1].splitlines()[0]
    assert ref["cells"]


def test_json_holds_boards_method_superseded_and_paper(written, logs):
    doc = json.loads(written["json"].read_text(encoding="utf-8"))
    assert {"confidence_interval", "paired_test", "multiple_comparisons", "rank"} <= set(doc["method"])
    assert [b["task"] for b in doc["boards"]].count("generation") == 3
    gen = next(b for b in doc["boards"] if b["task"] == "generation" and b["ranked_together_because_they_share"]["n_samples"] == 10
               and b["ranked_together_because_they_share"]["judge_model"] == "mockllm/judge-a")
    assert {r["candidate"] for r in gen["rows"]} == {"mockllm/alpha", "mockllm/beta", "mockllm/gamma", REFERENCE_LABEL}
    assert gen["superseded"][0]["log"] == logs.logs["beta-old"].location
    assert len(gen["pairwise_tests"]) == 6
    assert doc["paper"]["label"] == PAPER_LABEL
    # NaN never reaches JSON (it is not valid JSON): absent values are null
    assert "NaN" not in written["json"].read_text(encoding="utf-8")


def test_csv_has_measured_rows_and_unranked_paper_rows(written):
    frame = pd.read_csv(written["csv"])
    measured = frame[frame["source"].isin(["model", "reference"])]
    paper = frame[frame["source"] == PAPER_LABEL]
    assert len(measured) == 4 + 1 + 1 + 3  # judge-a board, judge-b, n=5, emotion
    assert measured["rank"].notna().all() and measured["board"].notna().all()
    assert len(paper) == 9 + 5 and paper["rank"].isna().all()
    gpt = paper[(paper["task"] == "generation") & (paper["candidate"] == "GPT-o3-pro")].iloc[0]
    assert (gpt["comprehensibility"], gpt["chars"], gpt["words"]) == (4.97, 195.62, 11.37)
    assert set(measured["board"]).isdisjoint(set(paper["board"]))


def test_markdown_is_paste_ready(written, logs):
    md = written["markdown"].read_text(encoding="utf-8")
    assert md.count("| Rank | Candidate |") == 4
    assert "## Reported in the paper, not run here" in md and "| GPT-o3-pro | 4.97 |" in md
    assert "never ranked together" in md
    assert logs.logs["beta-old"].location in md  # listed as superseded
    # every table row has as many cells as its header
    for table in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.MULTILINE):
        widths = {line.count(" | ") for line in table.strip().splitlines() if not line.startswith("|---")}
        assert len(widths) == 1, table


def test_html_is_self_contained(written):
    page = written["html"].read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=", page)
    assert "Plotly.newPlot" in page and len(page) > 3_000_000  # plotly.js inlined
    # generation: means, heatmap, profile, scatter; emotion: means, heatmap
    assert page.count('class="lb-chart') == 4 * 3 + 2
    assert PAPER_LABEL in page


def test_without_paper_rows_nothing_from_the_paper_appears(logs, tmp_path):
    paths = write_leaderboard(logs.log_dir, tmp_path)
    assert PAPER_LABEL not in paths["markdown"].read_text(encoding="utf-8")
    assert "paper" not in json.loads(paths["json"].read_text(encoding="utf-8"))


def test_failed_runs_and_other_tasks_are_listed_not_counted(logs, tmp_path):
    shutil.copy(logs.logs["alpha"].location, tmp_path)
    # No grader bound: the judge refuses, the run ends in error.
    [failed] = inspect_eval(
        generation(data=str(DATA), n=10), model=get_model("mockllm/alpha", custom_outputs=candidate("alpha")),
        log_dir=str(tmp_path), display="none",
    )
    assert failed.status == "error"
    lb = build(tmp_path)
    assert [b.rows["candidate"].tolist() for b in lb.boards] == [["mockllm/alpha"]]
    [skipped] = lb.skipped
    assert skipped.log == failed.location and skipped.reason.startswith("status error")
    paths = write_leaderboard(tmp_path, tmp_path / "out")
    assert "Logs not counted" in paths["markdown"].read_text(encoding="utf-8")


def test_a_folder_without_logs_is_one_line_from_the_cli(tmp_path, capsys):
    with pytest.raises(UserError, match="no Inspect logs"):
        build(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        build(tmp_path / "missing")
    for folder in (tmp_path, tmp_path / "missing"):
        assert cli_main(["leaderboard", str(folder), "--out", str(tmp_path / "out")]) == EXIT_USER_ERROR
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


def test_paper_figures_file_is_checked(tmp_path):
    figures = load_paper_figures()
    assert figures.tables["generation"].rows.set_index("model").loc["SFT-LLM-jp", "consistency"] == 3.20
    assert figures.tables["emotion"].rows.set_index("model").loc["MedLlama3-JP", "fasttext"] == 0.58
    bad = json.loads(PAPER_FIGURES_PATH.read_text(encoding="utf-8"))
    bad["generation"]["rows"][1]["fluency"] = "3.9"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(PaperFiguresError, match=r"generation row 2, field 'fluency'"):
        load_paper_figures(path)


def test_cli_writes_and_prints_the_page(logs, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="emplifai")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["leaderboard", str(logs.log_dir), "--out", str(tmp_path / "lb"), "--paper-rows"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "lb" / "leaderboard.html").is_file()
    assert "Open the page: file://" in out and "leaderboard.html" in out
    assert "judge mockllm/judge-b" in out  # one line per board


def test_the_cache_gives_the_same_boards_and_follows_the_logs(logs, tmp_path):
    log_dir = tmp_path / "logs"
    shutil.copytree(logs.log_dir, log_dir)
    fresh = json.loads(write_leaderboard(log_dir, tmp_path / "fresh", cache=False)["json"].read_text(encoding="utf-8"))
    out = tmp_path / "cached"
    first = json.loads(write_leaderboard(log_dir, out)["json"].read_text(encoding="utf-8"))
    again = json.loads(write_leaderboard(log_dir, out)["json"].read_text(encoding="utf-8"))
    assert fresh["boards"] == first["boards"] == again["boards"]
    cache = out / ".log-cache"

    def records() -> list[Path]:  # one per log read (the candidate pages' scores are scores-*.json)
        return [p for p in cache.glob("*.json") if p.name != "intervals.json" and not p.name.startswith("scores-")]

    def scores() -> list[Path]:  # one per counted generation log
        return list(cache.glob("scores-*.json"))

    counted = {r["log"] for b in first["boards"] if b["task"] == "generation" for r in b["rows"] + b["self_judged"]}
    assert len(records()) == len(list(log_dir.glob("*.eval"))) and len(scores()) == len(counted)
    # a log removed: its row goes, and so do its cache entries
    (log_dir / Path(logs.logs["gamma"].location).name).unlink()
    after = json.loads(write_leaderboard(log_dir, out)["json"].read_text(encoding="utf-8"))
    assert all("mockllm/gamma" not in [r["candidate"] for r in b["rows"]] for b in after["boards"] if b["task"] == "generation")
    assert len(records()) == len(list(log_dir.glob("*.eval"))) and len(scores()) == len(counted) - 1
