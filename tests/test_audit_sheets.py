"""Rating sheets: the two designs, blinding, the key kept apart, the rubric in the raters' language."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from emplifai.audit.logs import read_audit_logs
from emplifai.audit.sheets import write_sheets
from emplifai.errors import UserError
from emplifai.scorers.rubrics import METRIC_KEYS, load_rubrics
from tests.audit_fixture import simulated


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return read_audit_logs([str(simulated(tmp_path_factory)["logs"])])


def _loads(out: Path) -> pd.DataFrame:
    frame = pd.read_csv(out / "ratings_template.csv")
    assert set(frame["metric"]) == set(METRIC_KEYS)
    return frame.drop_duplicates(["rater_id", "item_id"])


def test_paper_design_groups_of_ten_three_raters(tmp_path: Path, logs) -> None:
    res = write_sheets(logs, tmp_path / "sheets", tmp_path / "key.csv", design="paper")
    per_log = logs.items.groupby("log").size()
    groups = sum(-(-n // 10) for n in per_log)  # ceil(n / 10) per log
    assert res.n_raters == 3 * groups
    pairs = _loads(tmp_path / "sheets")
    assert (pairs.groupby("item_id").size() == 3).all()
    assert pairs.groupby("rater_id").size().max() == 10
    key = pd.read_csv(tmp_path / "key.csv").set_index("item_id")
    # Every rater's group comes from a single log (the paper: groups within one model's dialogues).
    assert (pairs.join(key, on="item_id").groupby("rater_id")["log"].nunique() == 1).all()


def test_alt_test_design_minimums_and_balance(tmp_path: Path, logs) -> None:
    n = len(logs.items)
    res = write_sheets(logs, tmp_path / "s", tmp_path / "k.csv", design="alt-test", n_raters=4)
    pairs = _loads(tmp_path / "s")
    per_rater = pairs.groupby("rater_id").size()
    assert (pairs.groupby("item_id").size() >= 3).all() and pairs["item_id"].nunique() == n
    assert per_rater.min() >= 30 and per_rater.max() - per_rater.min() <= 1
    assert res.raters_per_item == 3
    too_many = n * 3 // 30 + 1
    with pytest.raises(UserError, match="below the alt-test's minimum of 30"):
        write_sheets(logs, tmp_path / "t", tmp_path / "k2.csv", design="alt-test", n_raters=too_many)
    with pytest.raises(UserError, match="at least 3 raters"):
        write_sheets(logs, tmp_path / "t", tmp_path / "k2.csv", design="alt-test", raters_per_item=2)


def test_blinded_randomised_and_key_apart(tmp_path: Path, logs) -> None:
    with pytest.raises(UserError, match="keep the key apart"):
        write_sheets(logs, tmp_path / "s", tmp_path / "s" / "key.csv")
    write_sheets(logs, tmp_path / "s", tmp_path / "key.csv", design="alt-test", n_raters=4)
    sheets = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "s").iterdir())
    for name in list(logs.logs) + ["mockllm", "concise", "verbose", "sample_id"]:
        assert name not in sheets, name  # no log, model or sample id reaches the raters
    key = pd.read_csv(tmp_path / "key.csv")
    assert list(key.columns) == ["item_id", "log", "sample_id", "epoch", "candidate", "model"]
    r1 = pd.read_csv(tmp_path / "s" / "sheet_R001.csv").drop_duplicates("item_id")
    order = r1.join(key.set_index("item_id"), on="item_id")["log"].tolist()
    assert order != sorted(order)  # candidates interleaved, not in log order
    write_sheets(logs, tmp_path / "s2", tmp_path / "key2.csv", design="alt-test", n_raters=4, seed=1)
    assert pd.read_csv(tmp_path / "s2" / "sheet_R001.csv")["item_id"].tolist() != pd.read_csv(
        tmp_path / "s" / "sheet_R001.csv")["item_id"].tolist()


@pytest.mark.parametrize("language", ["ja", "en"])
def test_html_form_carries_the_rubric(tmp_path: Path, logs, language: str) -> None:
    write_sheets(logs, tmp_path / "s", tmp_path / "key.csv", language=language)
    page = (tmp_path / "s" / "sheet_R001.html").read_text(encoding="utf-8")
    rubrics = load_rubrics(language)
    for r in rubrics.rubrics:
        assert r.name in page and r.levels[0][:20] in page and r.levels[4][:20] in page
    assert page.count("class=item") == 10 and "page-break-before" in page
    assert ("評価シート" if language == "ja" else "Rating sheet") in page


def test_cli_sheet(tmp_path: Path, tmp_path_factory, capsys) -> None:
    from emplifai.cli import main

    logs_dir = simulated(tmp_path_factory)["logs"]
    assert main(["audit", "sheet", str(logs_dir), "--out", str(tmp_path / "sheets"), "--design", "alt-test",
                 "--raters", "5"]) == 0
    out = capsys.readouterr().out
    assert "alt-test design: 96 dialogues, 5 raters" in out and "keep apart" in out
    assert (tmp_path / "sheets.key.csv").is_file() and not (tmp_path / "sheets" / "sheets.key.csv").exists()
    assert main(["audit", "sheet", str(logs_dir), "--out", str(tmp_path / "x"), "--design", "alt-test",
                 "--raters", "10"]) == 2
    assert "use at most 9 raters" in capsys.readouterr().err
