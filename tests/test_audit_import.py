"""Ratings import: every problem named by file and row; nothing valid dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from emplifai.audit.logs import read_audit_logs
from emplifai.audit.ratings import _score, read_ratings
from emplifai.cli import main
from emplifai.errors import UserError
from tests.audit_fixture import simulated


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulated(tmp_path_factory)


@pytest.fixture(scope="module")
def logs(sim):
    return read_audit_logs([str(sim["logs"])])


def _first_samples(logs, k: int = 3) -> list[tuple[str, str, str]]:
    rows = logs.items.sort_values(["log", "sample_id"]).head(k)
    return [(r.log, r.sample_id, r.model) for r in rows.itertuples()]


def _write_csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_every_error_named_by_row(tmp_path: Path, logs) -> None:
    (log, sid, _), (log2, sid2, _) = _first_samples(logs, 2)
    good = {"sample_id": sid, "log": log, "rater_id": "A", "metric": "fluency", "score": 4}
    rows = [
        # Rows numbered as `emplifai data validate` numbers them: the first record after the header is row 1.
        good,                                                            # row 1: valid
        {**good, "metric": "warmth"},                                    # row 2: unknown metric
        {**good, "metric": "harmlessness", "score": 6},                  # row 3: out of range
        {**good, "metric": "consistency", "score": 3.5},                 # row 4: not an integer
        {**good, "sample_id": "no-such-sample"},                         # row 5: unknown sample
        {**good, "log": "missing.eval"},                                 # row 6: unknown log
        {**good},                                                        # row 7: duplicate of row 1
        {**good, "metric": "comprehensibility", "score": ""},            # row 8: blank (warning only)
        {**good, "sample_id": sid2, "log": log2, "metric": "fluency"},   # row 9: valid
    ]
    path = _write_csv(tmp_path / "ratings.csv", rows)
    with pytest.raises(UserError) as err:
        read_ratings([str(path)], logs, min_items=1)
    msg = str(err.value)
    assert "6 problem(s)" in msg and "nothing was imported" in msg
    for row, text in [(2, "unknown metric 'warmth'"), (3, "'6' is not an integer from 1 to 5"),
                      (4, "'3.5' is not an integer"), (5, "'no-such-sample' is not a sample of"),
                      (6, "'missing.eval' is not among --logs"), (7, "duplicate rating: rater A")]:
        assert f"ratings.csv, row {row}: " in msg and text in msg, (row, text)
    assert "first at ratings.csv, row 1" in msg
    assert "row 8" not in msg  # a blank score is not fatal
    # Without the bad rows, both valid ratings come through and the blank one is reported.
    ok = _write_csv(tmp_path / "ok.csv", [rows[0], rows[7], rows[8]])
    res = read_ratings([str(ok)], logs, min_items=1)
    assert len(res.frame) == 2 and set(res.frame["sample_id"]) == {sid, sid2}
    warnings = [str(w) for w in res.warnings]
    assert warnings[0] == "ok.csv, row 2: blank score (rater A, comprehensibility): not rated"
    # Rater A rated 1 of 7 metrics of each dialogue: said per rater, with the dialogues and counts.
    assert warnings[1].startswith("ok.csv: rater A left metrics unrated on 2 dialogue(s)")
    assert f"sample {sid} of {log} (row 1): 1 of 7 metrics, missing comprehensibility, general_empathy" in warnings[1]


def test_model_column_jsonl_and_few_items_warning(tmp_path: Path, logs) -> None:
    (_, sid, _), *_ = _first_samples(logs)
    # mockllm/verbose names two logs (free and max_chars): ambiguous; mockllm/concise names one.
    concise = logs.items[logs.items["model"] == "mockllm/concise"].iloc[0]
    lines = [
        {"sample_id": concise.sample_id, "model": "mockllm/concise", "rater_id": "B", "metric": "fluency", "score": 5},
        {"sample_id": sid, "model": "mockllm/verbose", "rater_id": "B", "metric": "fluency", "score": 5},
        {"sample_id": sid, "model": "mockllm/nobody", "rater_id": "B", "metric": "fluency", "score": 5},
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_ratings([str(path)], logs)
    msg = str(err.value)
    assert "r.jsonl, row 2: field 'model': 'mockllm/verbose' names 2 logs" in msg
    assert "r.jsonl, row 3: field 'model': no log of model 'mockllm/nobody'" in msg
    path.write_text(json.dumps(lines[0]) + "\n", encoding="utf-8")
    res = read_ratings([str(path)], logs, min_items=30)
    assert len(res.frame) == 1 and res.frame["log"].iloc[0] == concise.log
    assert any("rater B rated 1 dialogue(s) (< 30; rows r.jsonl:1 .. r.jsonl:1): kept, but left out of the alt-test"
               in str(w) for w in res.warnings)


def test_missing_columns_and_item_ids_need_the_key(tmp_path: Path, logs, sim) -> None:
    path = _write_csv(tmp_path / "cols.csv", [{"sample_id": "x", "rater_id": "A", "score": 3}])
    with pytest.raises(UserError, match=r"cols.csv: header: missing column\(s\): metric, log or model"):
        read_ratings([str(path)], logs)
    sheet = sim["sheets"] / "sheet_R001.csv"
    with pytest.raises(UserError, match="pass the sheets' key with --key"):
        read_ratings([str(sheet)], logs)
    bad = _write_csv(tmp_path / "ids.csv", [{"item_id": "Izzzzzz", "rater_id": "A", "metric": "fluency", "score": 3}])
    with pytest.raises(UserError, match=r"ids.csv, row 1: field 'item_id': 'Izzzzzz' is not in the key file"):
        read_ratings([str(bad)], logs, key=str(sim["key"]))


def test_filled_sheets_round_trip(sim, logs) -> None:
    """The simulator's filled sheets come back through the import with every rating kept."""
    res = read_ratings([str(sim["ratings"])], logs, key=str(sim["key"]))
    template = pd.read_csv(sim["sheets"] / "ratings_template.csv")
    assert len(res.frame) == len(template) and res.simulated
    key = pd.read_csv(sim["key"]).set_index("item_id")
    joined = template.join(key, on="item_id")
    assert set(zip(res.frame["log"], res.frame["sample_id"])) == set(zip(joined["log"], joined["sample_id"]))


def test_cli_import_prints_one_error_block(tmp_path: Path, sim, capsys) -> None:
    path = _write_csv(tmp_path / "x.csv", [{"sample_id": "nope", "log": "a.eval", "rater_id": "A", "metric": "fluency",
                                            "score": 9}])
    assert main(["audit", "import", str(path), "--logs", str(sim["logs"])]) == 2
    err = capsys.readouterr().err
    # One row, two problems, both named.
    assert err.startswith("error: 2 problem(s)") and "x.csv, row 1: field 'log': 'a.eval'" in err
    assert "x.csv, row 1: field 'score': '9' is not an integer" in err
    assert "Traceback" not in err
    out = tmp_path / "checked.csv"
    assert main(["audit", "import", str(sim["ratings"]), "--logs", str(sim["logs"]), "--key", str(sim["key"]),
                 "--out", str(out)]) == 0
    assert "ratings from 4 raters" in capsys.readouterr().out
    assert len(pd.read_csv(out)) > 0


def test_tab_separated_and_non_utf8(tmp_path: Path, logs) -> None:
    (log, sid, _), *_ = _first_samples(logs)
    tsv = tmp_path / "r.csv"
    tsv.write_text(f"sample_id\tlog\trater_id\tmetric\tscore\n{sid}\t{log}\tA\tfluency\t4\n", encoding="utf-8")
    assert read_ratings([str(tsv)], logs, min_items=1).frame["score"].tolist() == [4]
    cp932 = tmp_path / "sjis.csv"
    cp932.write_bytes(f"sample_id,log,rater_id,metric,score\n{sid},{log},評価者A,fluency,4\n".encode("cp932"))
    with pytest.raises(UserError, match="sjis.csv: not UTF-8"):
        read_ratings([str(cp932)], logs)


@pytest.mark.parametrize("name,content,message", [
    ("empty.csv", b"", "the file is empty (no header, no ratings)"),
    ("blank.csv", b"\n\n  \n\r\n", "only blank lines"),
    ("blank.jsonl", b"\n\n", "only blank lines"),
    ("header.csv", b"sample_id,log,rater_id,metric,score\n", "a header (sample_id, log, rater_id, metric, score) and no ratings"),
    ("ragged.csv", b"sample_id,log,rater_id,metric,score\nx,y,A\n", "1 unreadable row(s), nothing was imported: row 1: row has 3 fields"),
    ("bad.jsonl", b'{"a": 1}\n{nope\n', "unreadable row(s), nothing was imported: row 2: line is not valid JSON"),
    ("ratings.xlsx", b"PK", "ratings must be CSV"),
])
def test_unusable_files_are_one_line(tmp_path: Path, sim, capsys, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["audit", "import", str(path), "--logs", str(sim["logs"])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}: ") and message in err and "\n" not in err and "Traceback" not in err


def test_incomplete_metric_sets_warned_with_counts_or_refused_under_strict(tmp_path: Path, logs, sim, capsys) -> None:
    (log, sid, _), (log2, sid2, _) = _first_samples(logs, 2)
    from emplifai.judge_metrics import METRIC_KEYS

    rows = [{"sample_id": sid, "log": log, "rater_id": "A", "metric": m, "score": 4} for m in METRIC_KEYS]
    rows += [{"sample_id": sid2, "log": log2, "rater_id": "A", "metric": m, "score": 3} for m in METRIC_KEYS[:3]]
    rows += [{"sample_id": sid, "log": log, "rater_id": "B", "metric": m, "score": 5} for m in METRIC_KEYS[:6]]
    path = _write_csv(tmp_path / "part.csv", rows)
    res = read_ratings([str(path)], logs, min_items=1)
    assert len(res.frame) == 7 + 3 + 6  # every valid rating kept
    gaps = {str(w).split(" left")[0]: str(w) for w in res.warnings}
    assert "1 dialogue(s)" in gaps["part.csv: rater A"] and f"sample {sid2} of {log2} (row 8): 3 of 7 metrics" in gaps[
        "part.csv: rater A"]
    assert "missing sense_of_security" in gaps["part.csv: rater B"] and "6 of 7" in gaps["part.csv: rater B"]
    from emplifai.audit.analysis import human_scores

    overall = human_scores(res.frame).query("metric == 'overall'")
    assert list(overall["rater_id"]) == ["A"] and list(overall["sample_id"]) == [sid]  # complete sets only
    with pytest.raises(UserError, match="--strict refuses incomplete sets"):
        read_ratings([str(path)], logs, min_items=1, strict=True)
    assert main(["audit", "import", str(path), "--logs", str(sim["logs"]), "--min-items", "1"]) == 0
    assert "warning: part.csv: rater A left metrics unrated on 1 dialogue(s)" in capsys.readouterr().out
    assert main(["audit", "import", str(path), "--logs", str(sim["logs"]), "--min-items", "1", "--strict"]) == 2


# --- property tests: ratings files are text we do not control ----------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CELL = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
                  st.sampled_from(["", "3", "5", "fluency", "1.0", "６", " 4 ", "nan"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))
def test_any_bytes_give_ratings_or_one_user_error(raw: bytes, logs, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("prop") / "r.csv"
    path.write_bytes(raw)
    try:
        read_ratings([str(path)], logs, min_items=1)
    except UserError as e:
        assert str(e).strip()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_valid_ratings_all_kept_and_bad_cells_all_named(data, logs, tmp_path_factory) -> None:
    from emplifai.judge_metrics import METRIC_KEYS

    pool = _first_samples(logs, 6)
    picks = data.draw(st.lists(st.tuples(st.sampled_from(pool), st.sampled_from(["A", "B"]),
                                         st.sampled_from(METRIC_KEYS)), min_size=1, max_size=20, unique=True))
    rows = [{"sample_id": sid, "log": log, "rater_id": r, "metric": m, "score": data.draw(st.integers(1, 5))}
            for (log, sid, _), r, m in picks]
    bad_at = data.draw(st.sets(st.integers(0, len(rows) - 1), max_size=3))
    for i in bad_at:
        # Not blank and not a number 1..5 (full-width digits such as ５ are accepted, as float() reads them).
        # No bare CR: pandas writes it unquoted, and an unquoted CR ends the record in CSV (RFC 4180),
        # so that file has a short row, reported as such, not a bad cell.
        rows[i]["score"] = data.draw(_CELL.filter(lambda c: c.strip() != "" and _score(c) is None and "\r" not in c))
    path = _write_csv(tmp_path_factory.mktemp("prop") / "r.csv", rows)
    if bad_at:
        with pytest.raises(UserError) as err:
            read_ratings([str(path)], logs, min_items=1)
        for i in bad_at:  # rows numbered as `emplifai data validate` does: first record = row 1
            assert f"r.csv, row {i + 1}: field 'score'" in str(err.value)
    else:
        res = read_ratings([str(path)], logs, min_items=1)
        assert len(res.frame) == len(rows)
        assert sorted(res.frame["score"]) == sorted(r["score"] for r in rows)
