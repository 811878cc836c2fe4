"""Every citation in a shipped scenario names a source row a reader can open (docs/sources/).

Scenario comments cite the domain tables copied into ``docs/sources/``:

* ``domain: <table>, <row>``: a heading of the scenario's domain file (eating-disorders.md,
  ltc-depression.md or urgent-mental-health.md; "Waits" for "Waits, durations, flows", numbering
  optional) and words of one of its rows (its first cell or its value);
* ``outcomes <section>`` / ``outcomes <section>, <row>`` / ``outcomes section N``: a section of
  ed-outcomes.md, and words of one of its rows;
* ``outcomes 6.2 row N`` and, in a comment that follows such a citation in the same file, ``rows N
  and M``: numbered rows of ed-outcomes.md table 6.2.

A row is named when at least half (:data:`OVERLAP`) of the citation's first words (three letters or more, or
numbers, without common words; a long word by its first 5 letters) appear in one row (a table line,
with a continuation line "| … by type" or "| same ..." read with the row above it, or a paragraph of
prose). A sub-heading inside prose ("6. Fragmented, step 3") is a row that has its words.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "docs" / "sources"
SCENARIOS = sorted((ROOT / "scenarios").rglob("*.yaml"))
OVERLAP = 0.5
STOP = {"the", "and", "for", "with", "per", "from", "about", "assumption", "derived", "calibrated", "are", "was",
        "that", "this", "its", "not", "but", "than", "each", "row", "rows", "table", "all", "who", "one", "two",
        "sd", "as", "a", "of", "in", "to", "or", "by", "at", "on", "is", "be", "an", "so", "it", "we", "step",
        "found", "unchanged", "mean", "median"}
DOMAIN_FILES = {"ltc": "ltc-depression.md", "urgent": "urgent-mental-health.md"}
_DOMAIN = re.compile(r"domain:\s*(.*?)(?=\(?\bdomain:|$)")
_OUTCOMES = re.compile(r"outcomes\s+(section\s+\d+|\d+(?:\.\d+)?)(?:\s+rows?\s+(\d+))?([^#;)]*)")


def _normal(text: str) -> str:
    return text.lower().replace("–", "-").replace("—", "-").replace("*", "").replace("£", "")


def _words(text: str) -> list[str]:
    tokens = re.findall(r"[a-z0-9][a-z0-9'-]*", _normal(text))
    return [t.strip("-'") for t in tokens if (len(t) >= 3 or t[0].isdigit()) and t not in STOP]


def _sections(path: Path) -> dict[str, list[str]]:
    """Heading (lower case, without numbering) -> its rows (table lines, bullets, paragraphs)."""
    out: dict[str, list[str]] = {}
    current = ""
    for block in re.split(r"\n(?=#)|\n\s*\n", path.read_text()):
        for line in block.splitlines():
            heading = re.match(r"^#+\s*(.*)", line)
            if heading:
                current = heading.group(1).strip().lower()
                out.setdefault(current, [])
                continue
            if line.startswith("|") and not re.match(r"^\|[-\s|]+\|$", line):
                rows = out.setdefault(current, [])
                cont = re.match(r"^\|\s*(…|same\b)", line) and rows
                rows.append(rows[-1].split("|")[1] + _normal(line) if cont else _normal(line))
        prose = " ".join(x for x in block.splitlines() if not x.startswith(("|", "#")))
        if prose.strip():
            out.setdefault(current, []).append(_normal(prose))
    return out


def _strip_number(heading: str) -> str:
    return re.sub(r"^\d+(\.\d+)*\.?\s*", "", heading)


def _has(row: str, word: str) -> bool:
    """``word`` in ``row``: as written, by its first 5 letters (a long word), or each part of a hyphenated one."""
    if word in row or (len(word) >= 6 and word[:5] in row):
        return True
    parts = [w for w in word.split("-") if w]
    return len(parts) > 1 and all(_has(row, w) for w in parts)


def _find_section(sections: dict[str, list[str]], name: str) -> list[str] | None:
    """The rows under the heading ``name`` names: by its start, or most of its words."""
    name = re.sub(r"\s+(table|row)$", "", _normal(name).strip(" .")).strip()
    plain = _strip_number(name)
    for heading, rows in sections.items():
        h = _strip_number(heading)
        if heading.startswith(name) or (plain and (h.startswith(plain) or f" {plain}" in f" {h}")):
            return rows
    words = _words(plain)
    for heading, rows in sections.items():
        if words and sum(_has(heading, w) for w in words) >= OVERLAP * len(words):
            return rows
    return None


def _names_a_row(rows: list[str], text: str, must: list[str] | None = None) -> bool:
    """At least OVERLAP of the first words of ``text`` (up to a ';', the comment's own remark) in one
    row, which also has every word of ``must``."""
    words = _words(text.split(";")[0])[:6]
    if not words:
        return True
    return any(sum(_has(row, w) for w in words) >= OVERLAP * len(words) and all(_has(row, w) for w in must or [])
               for row in rows)


def _comments(path: Path) -> list[tuple[int, str]]:
    """(line number, comment text) of each comment, with a citation cut at a line end joined to the next."""
    lines = path.read_text().splitlines()
    out = []
    for i, line in enumerate(lines, 1):
        if "#" not in line:
            continue
        text = line.split("#", 1)[1].strip()
        if re.search(r"\(?domain:\s*$", text) and i < len(lines) and "#" in lines[i]:
            text += " " + lines[i].split("#", 1)[1].strip()
        out.append((i, text))
    return out


def _domain_file(path: Path) -> Path:
    text = path.read_text()
    for key, name in DOMAIN_FILES.items():
        if path.name.startswith(key) or name in text:
            return SOURCES / name
    return SOURCES / "eating-disorders.md"


def _citation_problems(path: Path) -> list[str]:
    domain = _sections(_domain_file(path))
    outcomes = _sections(SOURCES / "ed-outcomes.md")
    numbered = {int(m.group(1)) for row in outcomes.get("6.2 parameter table", [])
                if (m := re.match(r"^\|\s*(\d+)\s*\|", row))}
    problems: list[str] = []
    in_62 = False
    for line, text in _comments(path):
        where = f"{path.relative_to(ROOT)}:{line}"
        for m in _DOMAIN.finditer(text):
            problems += _check_domain(m.group(1), domain, where)
        for m in _OUTCOMES.finditer(text):
            section, row, rest = m.group(1), m.group(2), m.group(3)
            in_62 = section == "6.2"
            key = section.replace("section ", "")
            rows = _find_section(outcomes, key if "." in key else f"{key}.")
            if rows is None:
                problems.append(f"{where}: no section {section!r} in ed-outcomes.md")
            elif row is not None and section == "6.2" and int(row) not in numbered:
                problems.append(f"{where}: no row {row} in ed-outcomes.md table 6.2")
            elif row is None and rest.strip(" ,:") and not _names_a_row(rows, rest.strip(" ,:")):
                problems.append(f"{where}: no row of ed-outcomes.md section {section} matches {rest.strip(' ,:')!r}")
        if in_62 and "outcomes" not in text:
            for m in re.finditer(r"\brows?\s+(\d+)((?:\s*(?:\([^)]*\))?\s*(?:,|and)\s*\d+)*)", text):
                for n in [m.group(1), *re.findall(r"\d+", re.sub(r"\([^)]*\)", "", m.group(2)))]:
                    if int(n) not in numbered:
                        problems.append(f"{where}: no row {n} in ed-outcomes.md table 6.2")
    return problems


def _cited(text: str) -> str:
    """The citation up to the parenthesis that closes around it (or the end)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return text[:i].strip()
    return text.strip()


def _check_domain(text: str, domain: dict[str, list[str]], where: str) -> list[str]:
    cited = _cited(text)
    if not cited or cited.startswith(("<", "ics-populations", "the domain file")):
        return []
    table, row = (re.split(r"[,;]", cited, maxsplit=1) + [""])[:2]
    rows = _find_section(domain, table)
    if rows is not None and (not row.strip() or _names_a_row(rows, row)):
        return []
    # a sub-heading inside prose ("6. Fragmented, step 3") or a row without its table
    every = [r for rs in domain.values() for r in rs]
    must = [w for w in _words(_strip_number(_normal(table))) if w not in ("table", "row")]
    if must and _names_a_row(every, row or table, must):
        return []
    if rows is None:
        return [f"{where}: no table {table.strip()!r} in the domain file"]
    return [f"{where}: no row of table {table.strip()!r} matches {row.strip()!r}"]


def test_sources_are_in_the_repository():
    for name in ("eating-disorders.md", "ed-outcomes.md", "ltc-depression.md", "urgent-mental-health.md",
                 "ics-populations.md", "ics-populations.csv"):
        assert (SOURCES / name).stat().st_size > 500, name


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT / "scenarios")))
def test_every_citation_names_a_source_row(path):
    assert _citation_problems(path) == []


def test_a_wrong_citation_is_caught(tmp_path):
    bad = tmp_path / "ed_bad.yaml"
    bad.write_text("a: 1   # domain: Waits, lunar gravity of penguins\n"
                   "b: 2   # domain: Nowhere, GP does not refer\n"
                   "c: 3   # outcomes 6.2 row 99\n"
                   "d: 4   # domain: Waits, GP does not refer 30%\n")
    problems = [p.split(": ", 1)[1] for p in _citation_problems_at(bad)]
    assert problems == ["no row of table 'Waits' matches 'lunar gravity of penguins'",
                        "no table 'Nowhere' in the domain file",
                        "no row 99 in ed-outcomes.md table 6.2"]


def _citation_problems_at(path: Path) -> list[str]:
    global ROOT
    saved, ROOT = ROOT, path.parent
    try:
        return _citation_problems(path)
    finally:
        ROOT = saved
