"""Read an EmplifAI-format dataset from JSONL, CSV, Parquet or Hugging Face ``datasets``.

Reading only turns a source into raw rows under canonical column names; checking the rows is
``emplifai.data.validate``'s job. Rows that cannot even be parsed (a JSONL line that is not a
JSON object, a CSV row with the wrong number of fields) become ``Problem``s at read time, so
one broken row never hides the others. Bytes that are not UTF-8 are kept as surrogate escapes
and reported per row and field by the validator.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emplifai.data import SAMPLE_PATH
from emplifai.data.encoding import check_encoding, read_text
from emplifai.data.schema import (
    CANONICAL_COLUMNS,
    OPTIONAL_COLUMNS,
    DataSourceError,
    DataValidationError,
    DialogueRecord,
    Problem,
)
from emplifai.data.validate import validate_rows

JSONL_SUFFIXES = (".jsonl", ".jsonlines", ".ndjson")
CSV_SUFFIXES = (".csv", ".tsv")
SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")
PARQUET_SUFFIXES = (".parquet", ".pq")
_FILE_SUFFIXES = JSONL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES + SPREADSHEET_SUFFIXES + (".json", ".txt")
# "owner/name" as the hub spells dataset ids.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class RawTable:
    """Rows as read, before validation.

    ``row_numbers[i]`` is the 1-based row of ``rows[i]`` in the source (for JSONL the line
    number), so problems point at the row a user sees even when unreadable rows were skipped.
    """

    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    row_numbers: list[int]
    problems: list[Problem] = field(default_factory=list)


def parse_column_map(spec: str) -> dict[str, str]:
    """Parse ``"emotion=label,patient_1=p1"`` into ``{"emotion": "label", "patient_1": "p1"}``.

    Keys are canonical column names; values are the column names used in the file.
    """
    mapping: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        canonical, sep, in_file = (s.strip() for s in part.partition("="))
        if not sep or not canonical or not in_file:
            raise DataSourceError(f"column map entry {part.strip()!r} is not of the form canonical=column_in_file")
        if canonical in mapping:
            raise DataSourceError(f"column map names {canonical!r} twice")
        mapping[canonical] = in_file
    _check_map_keys(mapping)
    return mapping


def read_rows(
    source: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    hf_split: str | None = None,
    encoding: str | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Raw rows (canonical column names) and a display name for messages.

    Raises ``DataValidationError`` listing every row that could not be parsed, and
    ``DataSourceError`` when the source cannot be read at all.
    """
    table = read_table(source, column_map=column_map, hf_split=hf_split, encoding=encoding)
    if table.problems:
        raise DataValidationError(table.problems)
    return table.rows, table.name


def resolve_user_path(source: str | Path) -> Path:
    """``source`` as the user meant it.

    ``inspect eval tasks/x.py`` builds the task with the working directory switched to ``tasks/``,
    so a relative ``-T data=mine.jsonl`` would be looked up there. When a relative path does not
    exist under the current directory, it is tried against the directory the shell started in
    (``$PWD``, which ``os.chdir`` does not change).
    """
    path = Path(source)
    if path.is_absolute() or path.exists():
        return path
    shell_dir = os.environ.get("PWD")
    if shell_dir and (Path(shell_dir) / path).exists():
        return Path(shell_dir) / path
    return path


def places_tried(source: str | Path) -> str:
    """Where ``resolve_user_path`` looked for a relative ``source``: the working directory and,
    when it differs, the directory the shell started in."""
    if Path(source).is_absolute():
        return str(Path(source).parent)
    places = [str(Path.cwd())]
    shell_dir = os.environ.get("PWD")
    if shell_dir and Path(shell_dir).resolve() != Path.cwd().resolve():
        places.append(shell_dir)
    return " and in ".join(places)


def read_table(
    source: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    hf_split: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    """Read ``source`` into a ``RawTable``; unparseable rows are listed in ``problems``.

    ``encoding`` applies to JSONL and CSV files (None = UTF-8, with or without a BOM, or UTF-16
    with a BOM; anything else is named in the error).
    """
    encoding = check_encoding(encoding)
    path = resolve_user_path(source)
    if path.is_dir():
        table = _read_hf_folder(path, hf_split)
    elif path.is_file():
        if hf_split is not None:
            raise DataSourceError(f"{path}: hf_split={hf_split!r} only applies to Hugging Face datasets")
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            table = _read_jsonl(path, encoding)
        elif suffix in CSV_SUFFIXES:
            table = _read_csv(path, encoding)
        elif suffix in PARQUET_SUFFIXES:
            table = _read_parquet(path)
        elif suffix in SPREADSHEET_SUFFIXES:
            raise DataSourceError(
                f"{path}: spreadsheet files are not read; save the sheet as CSV (UTF-8 or CP932, then "
                "--encoding cp932 / -T encoding=cp932) and pass that file"
            )
        else:
            raise DataSourceError(
                f"{path}: unsupported file type {suffix or '(none)'!r}; use JSON lines "
                f"({', '.join(JSONL_SUFFIXES)}), CSV (.csv), Parquet (.parquet) or a folder "
                "written by datasets' save_to_disk"
            )
    elif _looks_like_hub_id(str(source)):
        if _hub_offline():
            raise DataSourceError(
                f"{source}: no such file or folder (looked in {places_tried(source)}), and HF_HUB_OFFLINE is set, so it was "
                "not looked up as a Hugging Face dataset id; pass a local path (JSONL/CSV/Parquet file or a "
                "save_to_disk folder)"
            )
        table = _read_hub(str(source), hf_split)
    else:
        raise DataSourceError(f"{source}: no such file or folder (looked in {places_tried(source)})")
    if column_map:
        _apply_column_map(table, column_map)
    return table


def validate_source(
    source: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    hf_split: str | None = None,
    encoding: str | None = None,
) -> tuple[list[DialogueRecord], list[Problem]]:
    """Read and validate ``source``: valid records plus every read and validation problem.

    Raises ``DataSourceError`` only when the source cannot be read at all.
    """
    table = read_table(source, column_map=column_map, hf_split=hf_split, encoding=encoding)
    records, problems = validate_rows(table.rows, table.name, row_numbers=table.row_numbers, columns=table.columns)
    if table.problems:
        problems = sorted(table.problems + problems, key=lambda p: -1 if p.row is None else p.row)
    return records, problems


def load_dialogues(
    source: str | Path | None = None,
    *,
    column_map: Mapping[str, str] | None = None,
    hf_split: str | None = None,
    encoding: str | None = None,
) -> list[DialogueRecord]:
    """Every dialogue of ``source`` (default: the bundled sample set) in file order.

    Raises ``DataValidationError`` carrying every problem if any row is bad.
    """
    records, problems = validate_source(
        SAMPLE_PATH if source is None else source, column_map=column_map, hf_split=hf_split, encoding=encoding
    )
    if problems:
        raise DataValidationError(problems)
    return records


def load_dialogues_with_rows(
    source: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    hf_split: str | None = None,
    encoding: str | None = None,
) -> tuple[list[DialogueRecord], list[int]]:
    """Every dialogue of ``source`` and its row in the source (for JSONL the line number), in file order.

    Raises ``DataValidationError`` carrying every problem if any row is bad, so records and rows
    correspond one to one.
    """
    table = read_table(source, column_map=column_map, hf_split=hf_split, encoding=encoding)
    records, problems = validate_rows(table.rows, table.name, row_numbers=table.row_numbers, columns=table.columns)
    problems = table.problems + problems
    if problems:
        raise DataValidationError(sorted(problems, key=lambda p: -1 if p.row is None else p.row))
    return records, list(table.row_numbers)


def read_jsonl_objects(path: str | Path, encoding: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of a JSON-lines file of objects.

    The one JSONL reader of the project's data files: a line that is not a JSON object is a
    ``DataValidationError`` naming the file and every such line; a missing file a ``DataSourceError``.
    """
    p = resolve_user_path(path)
    if not p.is_file():
        raise DataSourceError(f"{path}: no such file")
    table = _read_jsonl(p, check_encoding(encoding))
    if table.problems:
        raise DataValidationError(table.problems)
    return list(zip(table.row_numbers, table.rows, strict=True))


# --- formats -------------------------------------------------------------------------------


def _read_jsonl(path: Path, encoding: str | None = None) -> RawTable:
    name = str(path)
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    problems: list[Problem] = []
    columns: dict[str, None] = {}  # ordered set
    text = read_text(path, encoding)
    # split("\n"), not splitlines(): JSON strings may legally hold U+2028 and friends.
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(name, lineno, None, f"line is not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(name, lineno, None, f"line is JSON {type(obj).__name__}, expected an object"))
            continue
        columns.update(dict.fromkeys(obj))
        rows.append(obj)
        numbers.append(lineno)
    return RawTable(name, list(columns), rows, numbers, problems)


def _read_csv(path: Path, encoding: str | None = None) -> RawTable:
    name = str(path)
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    text = read_text(path, encoding)
    first_line = text.split("\n", 1)[0]
    # A .tsv, or a .csv whose header holds tabs and no commas (a "CSV" saved as tab-separated text).
    delimiter = "\t" if path.suffix.lower() == ".tsv" or ("\t" in first_line and "," not in first_line) else ","
    with io.StringIO(text, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return RawTable(name, [], [], [], [Problem(name, None, None, "file is empty (no header row)")])
        seen: set[str] = set()
        for col in header:
            if col in seen:
                problems.append(Problem(name, None, col, "column appears more than once in the header"))
            seen.add(col)
        # Row numbers count data records after the header, blank lines included, as a
        # spreadsheet shows them.
        for rowno, values in enumerate(_csv_records(reader, name), start=1):
            if not values:
                continue
            if len(values) != len(header):
                problems.append(
                    Problem(name, rowno, None, f"row has {len(values)} fields but the header has {len(header)}")
                )
                continue
            rows.append(dict(zip(header, values)))
            numbers.append(rowno)
    return RawTable(name, list(header), rows, numbers, problems)


def _csv_records(reader: Any, name: str) -> Iterator[list[str]]:
    """The reader's records; a record the csv module cannot read (a cell over its 131,072-character
    limit, a NUL byte) is a ``DataSourceError`` naming the file and line, not a traceback."""
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataSourceError(
                f"{name}: line {reader.line_num}: cannot read this CSV record ({exc}); a cell over "
                f"{csv.field_size_limit():,} characters or a NUL byte is not dialogue text: fix or remove it"
            ) from None
        yield values


def _read_parquet(path: Path) -> RawTable:
    # pyarrow directly rather than pandas: an integer column with nulls stays int/None instead
    # of turning into float/NaN.
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a broken file
        raise DataSourceError(f"{path}: cannot read Parquet file: {exc}") from exc
    rows = table.to_pylist()
    return RawTable(str(path), list(table.column_names), rows, list(range(1, len(rows) + 1)))


def _read_hf_folder(path: Path, hf_split: str | None) -> RawTable:
    datasets = _import_datasets(str(path))
    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError as exc:
        raise DataSourceError(
            f"{path}: folder is not a Hugging Face dataset written by save_to_disk ({exc})"
        ) from exc
    return _hf_table(datasets, loaded, str(path), hf_split)


def _read_hub(hub_id: str, hf_split: str | None) -> RawTable:
    datasets = _import_datasets(hub_id)
    try:
        loaded = datasets.load_dataset(hub_id)
    except Exception as exc:  # network, auth, missing repo, offline mode: all mean "not loadable"
        raise DataSourceError(
            f"could not load Hugging Face dataset {hub_id!r} from the hub "
            f"({type(exc).__name__}: {exc}). It is not a local path either. Offline users: pass a "
            "local path instead (a JSONL/CSV/Parquet file, or a folder written by Dataset.save_to_disk)."
        ) from exc
    return _hf_table(datasets, loaded, f"hf:{hub_id}", hf_split)


def _hf_table(datasets: Any, loaded: Any, name: str, hf_split: str | None) -> RawTable:
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if hf_split is None:
            if len(splits) != 1:
                raise DataSourceError(f"{name}: holds splits {splits}; choose one with hf_split / --hf-split")
            hf_split = splits[0]
        elif hf_split not in loaded:
            raise DataSourceError(f"{name}: no split {hf_split!r}; splits are {splits}")
        loaded = loaded[hf_split]
    elif hf_split is not None:
        raise DataSourceError(f"{name}: holds a single Dataset without splits; drop hf_split={hf_split!r}")
    rows = loaded.to_list()
    if hf_split is not None:
        name = f"{name} [{hf_split}]"
    return RawTable(name, list(loaded.column_names), rows, list(range(1, len(rows) + 1)))


def _import_datasets(source: str) -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise DataSourceError(
            f"{source}: reading Hugging Face datasets needs the 'datasets' package "
            "(pip install 'emplifai[hf]')"
        ) from exc
    return datasets


def _looks_like_hub_id(source: str) -> bool:
    """An ``owner/name`` that cannot be a local path: not a file name with a known or any short
    extension, not under a folder that exists here, and the hub not switched off."""
    if not _HUB_ID.match(source) or source.lower().endswith(_FILE_SUFFIXES):
        return False
    if re.search(r"\.[A-Za-z][A-Za-z0-9]{0,7}$", source):  # "data/ok.xlsx", "x/y.csv2": a file name
        return False
    return not Path(source.split("/", 1)[0]).is_dir()


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


# --- column mapping ------------------------------------------------------------------------


def _check_map_keys(mapping: Mapping[str, str]) -> None:
    known = CANONICAL_COLUMNS + OPTIONAL_COLUMNS
    unknown = [k for k in mapping if k not in known]
    if unknown:
        raise DataSourceError(f"column map names unknown canonical column(s) {unknown}; known: {list(known)}")
    targets = list(mapping.values())
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        raise DataSourceError(f"column map sends file column(s) {doubled} to more than one canonical column")


def _apply_column_map(table: RawTable, mapping: Mapping[str, str]) -> None:
    _check_map_keys(mapping)
    for canonical, in_file in mapping.items():
        if in_file == canonical:
            continue
        if in_file not in table.columns:
            raise DataSourceError(
                f"{table.name}: column map sends {in_file!r} to {canonical!r}, but the file has no column "
                f"{in_file!r} (columns: {', '.join(table.columns)})"
            )
        if canonical in table.columns and canonical not in mapping.values():
            raise DataSourceError(
                f"{table.name}: column map sends {in_file!r} to {canonical!r}, but the file already has a "
                f"column {canonical!r}; map that one elsewhere or drop the mapping"
            )
    rename = {in_file: canonical for canonical, in_file in mapping.items()}
    table.columns = [rename.get(c, c) for c in table.columns]
    table.rows = [{rename.get(k, k): v for k, v in row.items()} for row in table.rows]
