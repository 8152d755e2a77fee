"""A GitHub-flavoured Markdown table checker: every table's header, delimiter row and body rows have
the same number of cells (GitHub drops a table whose delimiter row does not match its header, and
silently pads or cuts rows). Cells are split on unescaped pipes, as GFM does."""

from __future__ import annotations

import re

_SPLIT = re.compile(r"(?<!\\)\|")
_DELIMITER = re.compile(r"^\s*:?-{3,}:?\s*$")


def cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip() for c in _SPLIT.split(inner)]


def tables(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of every block of consecutive lines starting with '|', outside code fences."""
    out: list[tuple[int, list[str]]] = []
    fenced, current, start = False, [], 0
    for n, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.lstrip().startswith("|"):
            if not current:
                start = n
            current.append(line)
            continue
        if current:
            out.append((start, current))
            current = []
    if current:
        out.append((start, current))
    return out


def table_problems(text: str) -> list[str]:
    problems = []
    for start, lines in tables(text):
        if len(lines) < 2:
            problems.append(f"line {start}: a lone table line")
            continue
        width = len(cells(lines[0]))
        delim = cells(lines[1])
        if len(delim) != width or not all(_DELIMITER.match(c) for c in delim):
            problems.append(f"line {start + 1}: delimiter row has {len(delim)} cells for a {width}-cell header")
        for i, line in enumerate(lines[2:], start=start + 2):
            if len(cells(line)) != width:
                problems.append(f"line {i}: {len(cells(line))} cells, header has {width}")
    return problems
