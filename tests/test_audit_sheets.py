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
    with pytest.raises(UserError, match="--raters-per-item 2: the alt-test design needs every dialogue rated by at least 3"):
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


def _rescored_copy(src: Path, dest: Path) -> None:
    """What `inspect score LOG --scorer ... --output-file DEST` writes: the same samples, one more score."""
    from inspect_ai import score as inspect_score
    from inspect_ai.log import read_eval_log, write_eval_log

    from emplifai.scorers.reply_length import reply_length

    log = inspect_score(read_eval_log(str(src)), reply_length(), action="append", display="none")
    write_eval_log(log, location=str(dest))


def test_a_rescored_copy_is_the_same_dialogue(tmp_path: Path, tmp_path_factory) -> None:
    logs_dir = simulated(tmp_path_factory)["logs"]
    [first, *_] = sorted(logs_dir.glob("*.eval"))
    both = tmp_path / "logs"
    both.mkdir()
    (both / "a_original.eval").write_bytes(first.read_bytes())
    _rescored_copy(first, both / "b_rescored.eval")
    logs = read_audit_logs([str(both)])
    assert list(logs.logs) == ["a_original.eval"] and logs.copies == {"b_rescored.eval": "a_original.eval"}
    assert logs.items["sample_id"].is_unique
    assert any("b_rescored.eval: a copy of a_original.eval" in s for s in logs.skipped)
    res = write_sheets(logs, tmp_path / "s", tmp_path / "k.csv", design="paper")
    pairs = _loads(tmp_path / "s")
    assert pairs["item_id"].nunique() == len(logs.items) == res.n_items  # each dialogue once
    assert any("a rescored copy" in n for n in res.notes)
    # Judge scores of the copy fold onto the original's dialogues, once per (dialogue, judge, metric).
    assert not logs.scores.duplicated(["log", "sample_id", "judge", "metric"]).any()
    assert set(logs.scores["log"]) == {"a_original.eval"}


def test_unreadable_logs_are_one_line(tmp_path: Path, tmp_path_factory, capsys) -> None:
    from emplifai.cli import main

    sim = simulated(tmp_path_factory)
    [first, *_] = sorted(sim["logs"].glob("*.eval"))
    (tmp_path / "cut.eval").write_bytes(first.read_bytes()[:4000])
    (tmp_path / "junk.eval").write_text("not a log", encoding="utf-8")
    for bad in ("cut.eval", "junk.eval"):
        path = str(tmp_path / bad)
        for argv in (["audit", "sheet", path, "--out", str(tmp_path / "s")],
                     ["audit", "import", str(sim["ratings"]), "--logs", path],
                     ["audit", "report", "--logs", path, "--ratings", str(sim["ratings"]), "--out", str(tmp_path / "o")]):
            assert main(argv) == 2, argv
            err = capsys.readouterr().err.strip()
            assert err.startswith(f"error: {path}: not a readable Inspect log") and "\n" not in err, err


@pytest.mark.parametrize("kwargs,message", [
    ({"design": "alt-test", "n_raters": 0}, "--raters 0: must be >= --raters-per-item (3)"),
    ({"design": "alt-test", "n_raters": 2, "raters_per_item": 10}, "--raters 2: must be >= --raters-per-item (10)"),
    ({"design": "paper", "n_raters": 5}, "--raters 5: only for --design alt-test"),
    ({"design": "paper", "raters_per_item": 0}, "--raters-per-item 0: must be >= 1"),
    ({"design": "paper", "group_size": 0}, "--group-size 0: must be >= 1"),
    ({"design": "alt-test", "min_items": 29}, "--min-items 29: must be >= 30"),
])
def test_rater_counts_validated_before_writing(tmp_path: Path, logs, kwargs: dict, message: str) -> None:
    with pytest.raises(UserError) as err:
        write_sheets(logs, tmp_path / "s", tmp_path / "k.csv", **kwargs)
    assert str(err.value).startswith(message)
    assert not (tmp_path / "s").exists() and not (tmp_path / "k.csv").exists()
