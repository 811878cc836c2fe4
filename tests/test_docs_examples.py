"""Every complete scenario in docs/scenario-format.md loads, validates, compiles and runs briefly.

A block counts as complete when its first line is ``# complete scenario: <file>.yaml``; blocks are
written to one folder under those names (so an ``extends`` example can name an earlier block).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from icssim.model import compile_plan, simulate
from icssim.scenario import load_scenario, provenance, scenario_from_dict

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
MARK = re.compile(r"^# complete scenario: (\S+\.yaml)\s*$")


def _blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def _complete() -> dict[str, str]:
    found = {}
    for block in _blocks():
        match = MARK.match(block.splitlines()[0])
        if match:
            found[match.group(1)] = block
    return found


def test_the_doc_has_complete_examples():
    names = list(_complete())
    assert {"minimal.yaml", "example.yaml", "example_integrated.yaml"} <= set(names)


@pytest.mark.parametrize("name", list(_complete()))
def test_complete_example_validates_and_runs(name, tmp_path):
    for other, text in _complete().items():
        (tmp_path / other).write_text(text, encoding="utf-8")
    scenario = load_scenario(tmp_path / name)
    raw = provenance(scenario).raw
    short = {**raw, "scenario": {**raw["scenario"], "horizon": 120, "warmup": 20}}
    short["scenario"].pop("sample_every", None)
    if scenario.scenario.time_unit == "hours":
        short["scenario"].update(horizon=2000, warmup=100)
    records = simulate(compile_plan(scenario_from_dict(short)))
    assert records.arrivals > 0
    assert records.arrivals == records.exits + records.in_system_end


def test_every_fragment_is_yaml():
    """Fragments are not whole scenarios, but they must at least parse (and carry no tags)."""
    for block in _blocks():
        YAML(typ="safe").load(block)


def test_every_schema_key_is_documented():
    from icssim.scenario.schema import known_keys

    # calendar keys (start dates, demand profiles, capacity plans, panels, initial state) are in
    # calendar.md, the course of illness (health:) in health.md
    text = "".join((DOC.parent / name).read_text(encoding="utf-8")
                   for name in (DOC.name, "calendar.md", "health.md"))
    missing = sorted(k for k in known_keys() if f"`{k}`" not in text)
    assert not missing, f"keys not documented in {DOC.name}, calendar.md or health.md: {missing}"


# --- every icssim command in README.md and the docs: it parses, and what it names exists -----------
ROOT = DOC.parents[1]
#: The pages whose commands are checked here (the others have their owners' own tests).
PAGES = ["README.md", *(f"docs/{name}" for name in ("calendar.md", "design.md", "errors.md", "experiments.md",
                                                      "scenario-format.md", "sweeps.md", "verification.md"))]
#: Words that stand for what the reader supplies (FILE, A.yaml ...) or repeat ("..."), and the files
#: this page's complete examples or commands create.
PLACEHOLDER = re.compile(r"^(\.\.\.|[A-Z][A-Z_]*(\.yaml)?|[A-Z]\.yaml|my_\w+\.yaml|\w+\.example\.org.*)$")
CREATED = {"example.yaml"}  # docs/scenario-format.md's complete example, run from where it is saved
SHELL = re.compile(r"```(\w*)\n(.*?)```", re.S)
INLINE = re.compile(r"`(icssim [a-z][^`]*)`")


def _doc_commands() -> list[tuple[str, str]]:
    """(page:line, command) for each icssim command in a shell block or an inline code span."""
    found = []
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        for block in SHELL.finditer(text):
            if block.group(1) in ("yaml", "python", "text", "csv", "json", "html"):
                continue
            line = text[:block.start()].count("\n") + 2
            body = block.group(2).replace("\\\n", " ")
            for i, row in enumerate(body.splitlines()):
                for part in row.split("&&"):
                    part = part.strip().removeprefix("$ ")
                    if part.startswith("icssim ") and not part.startswith("icssim: "):
                        found.append((f"{page}:{line + i}", part))
        prose = SHELL.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for span in INLINE.finditer(prose):
            found.append((f"{page}:{prose[:span.start()].count(chr(10)) + 1}", span.group(1)))
    return found


def _subparsers():
    import argparse

    from icssim.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, action.choices


def test_the_pages_have_commands():
    commands = [c for _, c in _doc_commands()]
    assert "icssim run scenarios/ed_integrated.yaml --replications 10" in commands
    assert len(commands) > 20


@pytest.mark.parametrize("where, command", _doc_commands(), ids=lambda v: v if ":" in v else None)
def test_each_documented_command_is_one_icssim_has(where, command):
    """The subcommand and every option exist; a command without placeholders parses as typed and
    the files it names exist (relative to the repository root, where the README runs them)."""
    import shlex

    parser, commands = _subparsers()
    words = shlex.split(command.split("  #")[0], comments=True)[1:]
    if len(words) == 0:  # "icssim" alone in prose
        return
    sub = words[0]
    assert sub in commands, f"{where}: no subcommand {sub!r} (have: {', '.join(commands)})"
    options = commands[sub]._option_string_actions
    bare = [w.strip("[]") for w in words[1:]]
    for word in bare:
        if word.startswith("-"):
            assert word.split("=")[0] in options, f"{where}: {command!r}: 'icssim {sub}' has no option {word}"
    names_a_file = any(re.search(r"\.(yaml|yml|csv)$", w) for w in words[1:])
    if any(w.startswith("[") or PLACEHOLDER.match(w) for w in words[1:]) or not names_a_file:
        return  # a synopsis or a mention of an option: what the reader supplies is not checked
    try:
        parser.parse_args(words)
    except SystemExit:
        pytest.fail(f"{where}: icssim refuses {command!r} (see the usage message above)")
    for word in words[1:]:
        if re.search(r"\.(yaml|yml|csv)$", word) and word not in CREATED:
            assert (ROOT / word).is_file(), f"{where}: {command!r} names {word}, which does not exist"


@pytest.mark.parametrize("where, command", [(w, c) for w, c in _doc_commands() if c.startswith("icssim run ")
                                            and "scenarios/" in c])
def test_documented_runs_name_valid_scenarios(where, command, monkeypatch, capsys):
    """The README's main job and the docs' runs: their scenario validates (the run itself is the
    benchmark's, benchmarks/cli_speed.py)."""
    from icssim.cli import main

    monkeypatch.chdir(ROOT)
    scenario = next(w for w in command.split() if w.endswith(".yaml"))
    assert main(["validate", scenario]) == 0, capsys.readouterr().err


def test_a_reports_how_to_reproduce_works_from_where_it_was_run(tmp_path, monkeypatch, capsys):
    """The commands a run report gives under "How to reproduce" run from the folder the run was made
    in (the repository root for the README's job): the run's command parses, and the report command
    rebuilds the report."""
    import html
    import shlex

    from icssim.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.yaml").write_text(_complete()["minimal.yaml"], encoding="utf-8")
    argv = ["run", "small.yaml", "-n", "2", "-w", "1", "--quiet"]
    monkeypatch.setattr("sys.argv", ["icssim", *argv])  # the command the report records, as typed
    assert main(argv) == 0
    page = next((tmp_path / "results").glob("*/report.html")).read_text(encoding="utf-8")
    section = page.split('<section id="reproduce">')[1].split("</section>")[0]
    codes = [html.unescape(c) for c in re.findall(r"<code>(icssim [^<]*)</code>", section)]
    run, report = next(c for c in codes if c.startswith("icssim run")), next(c for c in codes if "report" in c)
    parser, _ = _subparsers()
    parser.parse_args(shlex.split(run)[1:])
    capsys.readouterr()
    assert main(shlex.split(report)[1:]) == 0, capsys.readouterr().err
