"""The catalogue of bad inputs: every mistake (or attack) icssim is known to refuse, with the
message a user sees. ``tests/test_catalogue.py`` runs each one through the command line and
checks the exit status and the message; ``docs/errors.md`` is this catalogue as a table,
written by ``python tests/catalogue.py > docs/errors.md`` (a test keeps the two in step).

A case is a scenario file (``text``, an edit of the small VALID scenario of
``tests/test_cli_validate.py``), any files beside it, and the command run on it (``{file}``
is the scenario's path, ``{dir}`` the case's folder).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_cli_validate import BAD, VALID  # noqa: E402  (the first 38 cases, with their messages)

SHIPPED = Path(__file__).resolve().parents[1] / "scenarios" / "ed_fragmented.yaml"


@dataclass(frozen=True)
class Case:
    """One bad input: what it is, how it is given, and what the user must be told."""

    id: str
    area: str
    what: str
    text: str | bytes
    expect: tuple[str, ...]
    command: tuple[str, ...] = ("validate", "{file}")
    files: dict[str, str | bytes] = field(default_factory=dict)
    code: int = 2


def edit(old: str, new: str, text: str = VALID) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def scenario_key(line: str) -> str:
    return edit("  warmup: 10\n", f"  warmup: 10\n  {line}\n")


def step_key(line: str) -> str:
    return edit("      queue: priority\n", f"      queue: priority\n      {line}\n")


LOOP = edit("next: [{to: done, p: 0.7}, {to: other, p: 0.3}]", "next: loop")
DATED = scenario_key("start_date: 2026-04-01")
NAME_RULE = "expected a name made of letters, digits, '_', '.' or '-', not starting with '.' or '-'"
RUN = ("run", "{file}", "--out", "{dir}/out", "-q", "-w", "1")


def _existing() -> list[Case]:
    """The cases tests/test_cli_validate.py has always checked."""
    return [Case(f"validate-{name}", "scenario file", name.replace("_", " "), text, tuple(fragments))
            for name, (text, fragments) in sorted(BAD.items())]


NAMES = [
    Case("name-dot", "scenario name", "name: '.' (replaced results/ with --force)",
         edit("name: small", "name: '.'"), (":2: scenario.name", NAME_RULE, "found '.'")),
    Case("name-dotdot", "scenario name", "name: '..' (wrote into the parent of --out)",
         edit("name: small", "name: '..'"), ("scenario.name", "(it names the results folder)", "found '..'")),
    Case("name-hidden", "scenario name", "name: .hidden", edit("name: small", "name: .hidden"),
         ("scenario.name", "found '.hidden'")),
    Case("name-option", "scenario name", "name: -rf (read as an option by other tools)",
         edit("name: small", "name: -rf"), ("scenario.name", "found '-rf'")),
    Case("name-trailing-dot", "scenario name", "name: ends.", edit("name: small", "name: ends."),
         ("scenario.name", "found 'ends.'")),
    Case("name-slash", "scenario name", "name: a/b", edit("name: small", "name: a/b"),
         ("scenario.name", "found 'a/b'")),
    Case("name-unicode", "scenario name", "name: 'é'", edit("name: small", "name: 'é'"),
         ("scenario.name", "found 'é'")),
    Case("name-300", "scenario name", "a 300-character name (file name too long)",
         edit("name: small", "name: " + "a" * 300),
         (":2: scenario.name", "expected text of at most 100 characters (it names the results folder)",
          "found 300 characters")),
    Case("name-windows", "scenario name", "name: CON", edit("name: small", "name: CON"),
         ("scenario.name", "'CON' is a device name reserved by Windows")),
    Case("name-empty", "scenario name", "name: ''", edit("name: small", "name: ''"),
         ("scenario.name", "expected some text, found an empty value")),
]

FILES = [
    Case("extends-passwd", "other files", "extends: /etc/passwd (its content was printed)",
         "extends: /etc/passwd\n" + VALID,
         (":1: extends: '/etc/passwd' is not a usable base scenario: expected a scenario YAML file",
          "characters of text that are not keys and values (not shown)")),
    Case("extends-binary", "other files", "extends a PNG image",
         "extends: base.bin\n" + VALID, ("extends: 'base.bin' is not a usable base scenario",
                                         "it is binary (it contains NUL bytes); expected a scenario YAML file"),
         files={"base.bin": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}),
    Case("extends-missing", "other files", "extends a file that does not exist",
         "extends: nowhere.yaml\n" + VALID, ("base scenario", "nowhere.yaml", "does not exist")),
    Case("scenario-binary", "other files", "the scenario file is an image", b"\x89PNG\r\n\x1a\n\x00\x00",
         ("cannot read file: it is binary (it contains NUL bytes); expected a scenario YAML file (text)",)),
    Case("scenario-latin1", "other files", "the scenario saved as Latin-1, not UTF-8",
         edit("name: small", "name: sméll").encode("latin-1"),
         ("cannot read file: it is not UTF-8 text (line 2: byte 0xe9, 'é' in Windows-1252): save it again as "
          "UTF-8",)),
    Case("scenario-utf16", "other files", "the scenario saved as UTF-16 (Windows Notepad's 'Unicode')",
         edit("name: small", "name: small").encode("utf-16"),
         ("cannot read file: it is saved as UTF-16, not UTF-8: save it again as UTF-8",)),
    Case("initial-state-passwd", "other files", "initial_state.file: /etc/passwd (its content was printed)",
         DATED + "initial_state:\n  file: /etc/passwd\n",
         ("initial_state.file: passwd is not a waiting-list CSV", "content not shown")),
    Case("initial-state-not-utf8", "other files", "a waiting-list CSV that is not UTF-8",
         DATED + "initial_state:\n  file: list.csv\n", ("initial_state.file: list.csv: cannot read: it is not UTF-8 text",),
         files={"list.csv": b"cohort,referral_date,step\nyoung,2026-01-01,assess\xff\n"}),
    Case("initial-state-binary", "other files", "a waiting-list CSV holding NUL bytes",
         DATED + "initial_state:\n  file: list.csv\n", ("list.csv: cannot read: it is binary",),
         files={"list.csv": b"cohort,referral_date,step\nyoung,2026-01-01,assess\x00\n"}),
    Case("initial-state-huge-cell", "other files", "a waiting-list CSV with a 200,000-character cell",
         DATED + "initial_state:\n  file: list.csv\n", ("list.csv: cannot be read as CSV",),
         files={"list.csv": 'cohort,referral_date,step\nyoung,2026-01-01,"' + "x" * 200_000 + '"\n'}),
    Case("yaml-tag", "other files", "a YAML tag that would run code",
         VALID + "x: !!python/object/apply:os.system ['true']\n",
         ("found the YAML tag '!!python/object/apply:os.system'", "tags are not allowed")),
]

SIZE = [
    Case("brackets-5000", "file size and shape", "10 KB of 5,000 nested brackets (took 86 s)",
         "a: " + "[" * 5000 + "]" * 5000, (":1: lists and mappings are nested more than 50 levels deep",)),
    Case("brackets-100000", "file size and shape", "100,000 nested brackets (killed after 120 s)",
         "a: " + "[" * 100_000 + "]" * 100_000, ("nested more than 50 levels deep",)),
    Case("braces-5000", "file size and shape", "5,000 nested mappings", "a: " + "{a: " * 5000 + "}" * 5000,
         ("nested more than 50 levels deep",)),
    Case("dashes-100000", "file size and shape", "100,000 nested block lists", "- " * 100_000 + "x",
         ("nested more than 50 levels deep",)),
    Case("indent-1000", "file size and shape", "1,000 levels of indentation",
         "".join(" " * i + f"k{i}:\n" for i in range(1000)), ("nested more than 50 levels deep",)),
    Case("file-2mb", "file size and shape", "a 2 MB file", VALID + "# " + "x" * 2_000_000 + "\n",
         ("the file is larger than 1,000,000 bytes (1 MB)",)),
    Case("digits-5000", "file size and shape", "a number of 5,000 digits",
         edit("wte: 3,", "wte: " + "1" * 5000 + ","), ("found a number with thousands of digits",)),
    Case("alias-bomb", "file size and shape", "YAML aliases that expand to millions of values",
         VALID + "x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
         + "".join(f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 7)),
         ("the file expands to more than 200,000 values",)),
    Case("merge-key", "file size and shape", "YAML merge key <<: *anchor (KeyError)",
         edit("    done: {kind: discharge}\n    other: {kind: discharge}",
              "    done: &end {kind: discharge}\n    other:\n      <<: *end\n      label: other"),
         (":31: found a YAML merge key '<<'; merge keys are not supported in scenario files",)),
    Case("merge-key-flow", "file size and shape", "a flow merge key",
         edit("other: {kind: discharge}", "other: {<<: {kind: discharge}}"), (":30: found a YAML merge key '<<'",)),
    Case("unclosed-quote", "file size and shape", "a quote left open: named where it opens, not where YAML gave up",
         edit("  name: small\n", '  name: "small\n').replace("    other: {kind: discharge}",
                                                             '    other: {kind: discharge, label: "Other"}'),
         (":2: scenario.name: not valid YAML: a quote opened on this line is not closed on it",
          "the parser gave up at line 30")),
    Case("unclosed-brace", "file size and shape", "a '{' left open",
         edit("      clinician: {wte: 3, clinical_hours_per_week: 22.5, cost_per_hour: 60}",
              "      clinician: {wte: 3, clinical_hours_per_week: 22.5, cost_per_hour: 60"),
         (":19: services.team.staff.clinician: not valid YAML: the '{' opened on this line is not closed before "
          "line 20; expected '}' after its last value",)),
]

DATES = [
    Case("date-feb30", "dates", "start_date: 2026-02-30", scenario_key("start_date: 2026-02-30"),
         (":6: scenario.start_date: expected a date such as 2026-04-01, found '2026-02-30'",)),
    Case("date-month13", "dates", "start_date: 2026-13-01", scenario_key("start_date: 2026-13-01"),
         ("scenario.start_date: expected a date such as 2026-04-01, found '2026-13-01'",)),
    Case("date-9999", "dates", "start_date: 9999-12-01 (crashed in plotting after simulating)",
         scenario_key("start_date: 9999-12-01"),
         ("scenario.start_date: the run must lie between 1900-01-01 and 2200-12-31",)),
    Case("date-0001", "dates", "start_date: 0001-01-01 (crashed in plotting after simulating)",
         scenario_key("start_date: 0001-01-01"), ("the run must lie between 1900-01-01 and 2200-12-31",)),
    Case("date-end-2200", "dates", "a run that ends after 2200", scenario_key("start_date: 2200-12-01"),
         ("the run must lie between 1900-01-01 and 2200-12-31",)),
    Case("date-text", "dates", "start_date: next spring", scenario_key("start_date: next spring"),
         ("scenario.start_date: expected a date such as 2026-04-01",)),
]

D = "duration: 1 hour"
DISTRIBUTIONS = [
    Case("gamma-tiny-sd", "distributions", "gamma sd: 1e-300 (validated, then crashed)",
         edit(D, "duration: {dist: gamma, mean: 1 hour, sd: 1e-300}"),
         (":26: pathway.steps.assess.duration: sd must be between 1e-06 and 10000 times the mean",)),
    Case("gamma-tiny-mean", "distributions", "gamma mean: 1e-300", edit(D, "duration: {dist: gamma, mean: 1e-300, sd: 1 hour}"),
         ("pathway.steps.assess.duration: sd must be between 1e-06 and 10000 times the mean",)),
    Case("lognormal-tiny-sd", "distributions", "lognormal sd: 1e-300",
         edit(D, "duration: {dist: lognormal, mean: 1 hour, sd: 1e-300}"), ("sd must be between 1e-06 and 10000",)),
    Case("lognormal-huge-cv", "distributions", "lognormal sd 1e23 times its mean",
         edit(D, "duration: {dist: lognormal, mean: 1e-12, sd: 1e11}"), ("sd must be between 1e-06 and 10000",)),
    Case("triangular-point", "distributions", "triangular with low = mode = high",
         edit(D, "duration: {dist: triangular, low: 1, mode: 1, high: 1}"),
         ("triangular needs low <= mode <= high and low < high",)),
    Case("empirical-1e308", "distributions", "empirical weights [1e308, 1e308] (sum overflowed)",
         edit(D, "duration: {dist: empirical, values: [1 hour, 2 hours], weights: [1e308, 1e308]}"),
         ("pathway.steps.assess.duration.weights: expected a number of at most 1e+12 in size, found 1e+308",)),
    Case("empirical-inf", "distributions", "empirical weight .inf",
         edit(D, "duration: {dist: empirical, values: [1 hour, 2 hours], weights: [.inf, 1]}"),
         ("duration.weights.0: expected a finite number, found inf",)),
    Case("empirical-zero", "distributions", "empirical weights all 0",
         edit(D, "duration: {dist: empirical, values: [1 hour, 2 hours], weights: [0, 0]}"),
         ("weights must be non-negative and add up to more than 0",)),
    Case("empirical-bool", "distributions", "empirical weight true",
         edit(D, "duration: {dist: empirical, values: [1 hour, 2 hours], weights: [true, 1]}"),
         ("duration.weights: expected a number, found true",)),
    Case("uniform-reversed", "distributions", "uniform low above high",
         edit("{dist: uniform, low: 10, high: 18}", "{dist: uniform, low: 18, high: 10}"),
         ("cohorts.young.attributes.age", "uniform needs low < high")),
]

NUMBERS = [
    Case(f"bool-{key}", "numbers", f"{key}: true (read as 1)", text, (f"{path}: expected a number, found {shown}",))
    for key, text, path, shown in [
        ("wte", edit("wte: 3,", "wte: true,"), "services.team.staff.clinician.wte", "true"),
        ("seed", scenario_key("seed: true"), "scenario.seed", "true"),
        ("p", edit("p: 0.7}", "p: true}"), "pathway.steps.assess.next.0.p", "true"),
        ("population", edit("population: 100000", "population: true"), "scenario.population", "true"),
        ("weights", edit("weights: [3, 1]", "weights: [true, false]"), "cohorts.young.attributes.urgency.weights", "true"),
        ("cost", edit("cost_per_hour: 60", "cost_per_hour: false"), "services.team.staff.clinician.cost_per_hour", "false"),
        ("hours", edit("clinical_hours_per_week: 22.5", "clinical_hours_per_week: True"),
         "services.team.staff.clinician.clinical_hours_per_week", "true"),
        ("sets", step_key("sets: {age: true}"), "pathway.steps.assess.sets", "true"),
    ]
] + [
    Case("cost-1e308", "numbers", "cost_per_hour: 1e308 (costs became inf)", edit("cost_per_hour: 60", "cost_per_hour: 1e308"),
         ("services.team.staff.clinician.cost_per_hour: expected a number of at most 1e+12 in size, found 1e+308",)),
    Case("cost-inf", "numbers", "cost_per_hour: .inf", edit("cost_per_hour: 60", "cost_per_hour: .inf"),
         ("cost_per_hour: expected a finite number, found inf",)),
    Case("wte-nan", "numbers", "wte: .nan", edit("wte: 3,", "wte: .nan,"), ("wte: expected a finite number, found nan",)),
    Case("wte-1e30", "numbers", "wte: 10**30", edit("wte: 3,", "wte: " + "1" + "0" * 30 + ","),
         ("wte: expected a number of at most 1e+12 in size, found 1e+30",)),
    Case("population-1e30", "numbers", "population: 10**30", edit("population: 100000", "population: 1" + "0" * 30),
         ("scenario.population: expected a number of at most 1e+12 in size",)),
    Case("sets-1e300", "numbers", "sets: {age: 1e300}", step_key("sets: {age: 1e300}"),
         ("pathway.steps.assess.sets: expected a number of at most 1e+12 in size, found 1e+300",)),
    Case("seed-2-63", "numbers", "seed: 2**63", scenario_key("seed: 9223372036854775808"),
         ("scenario.seed: expected a whole number from 0 to 9223372036854775807",)),
    Case("seed-negative", "numbers", "seed: -1", scenario_key("seed: -1"),
         ("scenario.seed: expected a whole number from 0 to 9223372036854775807",)),
    Case("wte-negative", "numbers", "wte: -3", edit("wte: 3,", "wte: -3,"),
         ("services.team.staff.clinician.wte: expected a number at least 0, found -3",)),
    Case("when-nan", "numbers", "a condition on nan", edit("next: [{to: done, p: 0.7}, {to: other, p: 0.3}]",
                                                           'next: [{to: done, when: "age < nan"}, {to: other}]'),
         ("pathway.steps.assess.next.0.when: 'age' is numeric, so 'nan' should be a finite number",)),
    Case("when-inf", "numbers", "a condition on 1e999", edit("next: [{to: done, p: 0.7}, {to: other, p: 0.3}]",
                                                             'next: [{to: done, when: "age < 1e999"}, {to: other}]'),
         ("'1e999' should be a finite number",)),
]


def _loop(p_stay: str, p_leave: str) -> str:
    return LOOP + f"    loop: {{kind: delay, duration: 1e-12, next: [{{to: loop, p: {p_stay}}}, {{to: done, p: {p_leave}}}]}}\n"


ENDLESS = [
    Case("loop-1e-9", "work without end", "a loop left with probability 1e-9 (ran forever)", _loop("0.999999999", "1e-9"),
         (":31: pathway.steps.loop: patients would pass through this step about 1e+09 times each",
          "expected at most 10,000: give the loop a real way out")),
    Case("loop-1e-5", "work without end", "a loop left with probability 1e-5", _loop("0.99999", "0.00001"),
         ("pathway.steps.loop: patients would pass through this step about 1e+05 times each",)),
    Case("loop-p0", "work without end", "a loop never left (probability 0)", _loop("1", "0"),
         ("pathway.steps.loop: patients reaching this step could never leave the pathway",)),
    Case("loop-condition", "work without end", "a loop left only when a condition that never holds does (run time)",
         LOOP + '    loop: {kind: delay, duration: 0.01 minutes, next: [{to: loop, when: "age < 200"}, {to: done}]}\n',
         ("replication 0: patient 0 (cohort 'young') moved between steps more than",
          "last into step 'loop'; the pathway loops without end in practice"), command=RUN),
    Case("demand-growth", "work without end", "demand growing 1e12-fold a year for 100 years",
         edit("horizon: 60", "horizon: 100 years").replace("    rate: 3 per day\n", "    rate: 3 per day\n    demand: {growth_per_year: 1e12}\n"),
         ("cohorts: more than 1e300 patients would arrive in one replication",)),
    Case("demand-changes", "work without end", "two 1e12-fold step changes in demand",
         edit("    rate: 3 per day\n", "    rate: 3 per day\n    demand: {changes: [{at: 1, factor: 1e12}, {at: 2, factor: 1e12}]}\n"),
         ("cohorts: about 1.8e+26 patients would arrive in one replication",)),
    Case("initial-count", "work without end", "10 million already waiting at the start",
         DATED + "initial_state:\n  waiting: [{step: assess, cohort: young, count: 10000000, waited: 1}]\n",
         ("10,000,000 of them already waiting at the start",)),
    Case("initial-waited", "work without end", "waiting 1e12 days at the start",
         DATED + "initial_state:\n  waiting: [{step: assess, cohort: young, count: 5, waited: 1e12}]\n",
         ("initial_state.waiting.0.waited: expected at most 100 years on average",)),
    Case("monitoring-tiny", "work without end", "monitoring every 1e-9 days",
         step_key("monitoring: {every: 1e-9, until: [done]}"),
         ("pathway.steps.assess.monitoring.every: would give up to 6e+10 monitoring contacts per patient",)),
    Case("panel-tiny", "work without end", "a panel meeting every 1e-300 days",
         edit("    done: {kind: discharge}\n", "    done: {kind: discharge}\n    pan: {kind: panel, meets: {every: 1e-300}, next: done}\n"),
         ("pathway.steps.pan.meets.every: would give up to 6e+301 panel meetings",)),
    Case("oversize-run", "work without end", "a valid run of 50 replications for 300 million people (minutes, GBs)",
         f"extends: {SHIPPED}\nscenario:\n  population: 300000000\n",
         ("this run needs about", "patient journeys", "Pass --yes to run it anyway"),
         command=("run", "{file}", "--out", "{dir}/out", "-n", "50", "-w", "2")),
]

#: VALID with a course of illness: ill, and in remission at a hazard that treatment raises
HEALTHY = VALID + """\
health:
  follow_up: 5 years
  start: {ill: 1.0}
  states:
    ill: {utility: 0.6}
    well: {utility: 0.9, remission: true}
  transitions:
    - {from: ill, to: well, rate: {untreated: 0.1 per year, treated: 0.5 per year}}
    - {from: well, to: ill, rate: 0.2 per year}
"""


def health(old: str, new: str) -> str:
    return edit(old, new, HEALTHY)


def psa_file(parameter: str, samples: int = 4) -> dict[str, str]:
    return {"psa.yaml": f"sweep: {{name: p, replications: 1}}\nbase: fuzz.yaml\ndesign: psa\nsamples: {samples}\n"
                        f"parameters:\n  {parameter}\n"}


def psa_draws_file(also: str, table: str = "health.states.ill.utility,health.states.well.utility\n"
                                               "0.55,0.88\n0.62,0.91\n") -> dict[str, str]:
    """A PSA of a table of draws (``draws.csv``) whose line 6 gives its columns' ``also``."""
    return {"psa.yaml": "sweep: {name: p, replications: 1}\nbase: fuzz.yaml\ndesign: psa\ndraws:\n"
                        f"  file: draws.csv\n  also: {also}\n", "draws.csv": table}


PSA = ("psa", "{dir}/psa.yaml", "--out", "{dir}/out", "-q")
BETA = "health.states.ill.utility: {dist: beta, mean: 0.6, sd: 0.05}"

HEALTH = [
    Case("health-hazard-negative", "course of illness", "a negative hazard (and nothing else said of it)",
         health("untreated: 0.1 per year", "untreated: -0.1 per year"),
         (":38: health.transitions.0.rate: hazard 'untreated' must not be negative, found -0.1 per year",)),
    Case("health-hazard-per-day", "course of illness", "hazards that would end a state within a day",
         health("rate: 0.2 per year", "rate: 2 per day"),
         ("health.states.well: the hazards out of this state while untreated add up to 2 per day",
          "expected at most 1 per day (is a rate per year written per day?)")),
    Case("health-utility-high", "course of illness", "a utility above 1", health("utility: 0.9", "utility: 1.4"),
         (":36: health.states.well.utility: expected a number at most 1, found 1.4",)),
    Case("health-utility-low", "course of illness", "a utility below -0.6", health("utility: 0.6", "utility: -0.7"),
         ("health.states.ill.utility: expected a number at least -0.6, found -0.7",)),
    Case("health-unreachable", "course of illness", "a state no one can reach",
         health("    well: {utility: 0.9, remission: true}\n",
                "    well: {utility: 0.9, remission: true}\n    severe: {utility: 0.4, absorbing: true}\n"),
         ("health.states.severe: no one can reach this state",)),
    Case("health-absorbing", "course of illness", "a state no one leaves, not declared absorbing",
         health("    - {from: well, to: ill, rate: 0.2 per year}\n", ""),
         ("health.states.well: no transition leaves this state, so people would stay in it for ever",
          "or 'absorbing: true' if that is intended")),
    Case("health-discount", "course of illness", "a discount rate of 35% a year",
         health("  follow_up: 5 years\n", "  follow_up: 5 years\n  discount: {costs: 0.35}\n"),
         ("health.discount.costs: expected a number at most 0.2, found 0.35",)),
    Case("health-unknown-state", "course of illness", "a transition into a state not declared",
         health("to: well, rate: {", "to: wel, rate: {"),
         ("health.transitions.0.to: health state 'wel' is not defined; did you mean 'well'?",)),
    Case("health-to-itself", "course of illness", "a transition from a state to itself",
         health("    - {from: well, to: ill, rate: 0.2 per year}\n",
                "    - {from: well, to: ill, rate: 0.2 per year}\n    - {from: [ill, well], to: well, rate: 1 per year}\n"),
         ("health.transitions.2.to: 'well' is also in 'from': a move from a state to itself changes nothing",)),
    Case("psa-beta-mean", "course of illness", "a PSA beta distribution with mean 1.2", HEALTHY,
         ("parameters.health.states.ill.utility", "mean between 0 and 1"),
         command=PSA, files=psa_file("health.states.ill.utility: {dist: beta, mean: 1.2, sd: 0.1}")),
    Case("psa-gamma-sd", "course of illness", "a PSA gamma distribution without its sd", HEALTHY,
         ("needs 'mean' and 'sd'",),
         command=PSA, files=psa_file("services.team.staff.clinician.cost_per_hour: {dist: gamma, mean: 60}")),
    Case("psa-over-budget", "course of illness", "a PSA of 100,000 draws, over the time budget, without --yes",
         HEALTHY, ("is more than the time budget", "Pass --yes to run it anyway", "nothing was written"),
         command=(*PSA, "--budget", "1 minute"), files=psa_file(BETA, samples=100_000)),
    Case("psa-also-unknown", "course of illness", "a PSA parameter tied ('also') to a key path the scenario "
         "does not have", HEALTHY,
         ("psa.yaml:6: parameters.health.states.ill.utility.also.0: 'health.states.il.utility': no key 'il'",
          "did you mean 'health.states.ill.utility'?"),
         command=PSA, files=psa_file("health.states.ill.utility: {dist: beta, mean: 0.6, sd: 0.05, "
                                     "also: [health.states.il.utility]}")),
    Case("psa-also-other-value", "course of illness", "a PSA parameter tied to a key path with another base value",
         HEALTHY, ("psa.yaml:6: parameters.health.states.ill.utility.also.0: 'health.states.well.utility' is 0.9 in",
                   "but 'health.states.ill.utility' is 0.6 in", "same base value (0.6) in every base scenario"),
         command=PSA, files=psa_file("health.states.ill.utility: {dist: beta, mean: 0.6, sd: 0.05, "
                                     "also: [health.states.well.utility]}")),
    Case("psa-also-drawn-too", "course of illness", "a key path tied to one PSA parameter and drawn as another",
         HEALTHY, ("psa.yaml:6: parameters.health.states.ill.utility.also.0: 'health.states.well.utility' is also "
                   "drawn on its own under 'parameters' (line 7)",),
         command=PSA, files=psa_file("health.states.ill.utility: {dist: beta, mean: 0.6, sd: 0.05, "
                                     "also: [health.states.well.utility]}\n"
                                     "  health.states.well.utility: {dist: beta, mean: 0.9, sd: 0.02}")),
    Case("psa-also-not-list", "course of illness", "a PSA parameter's 'also' that is not a list of key paths",
         HEALTHY, ("psa.yaml:6: parameters.health.states.ill.utility.also: expected a list",),
         command=PSA, files=psa_file("health.states.ill.utility: {dist: beta, mean: 0.6, sd: 0.05, "
                                     "also: health.states.well.utility}")),
    Case("psa-draws-also-not-column", "course of illness", "a key of a table of draws' 'also' that is not a "
         "column of the table", HEALTHY,
         ("psa.yaml:6: draws.also.health.states.ill.utilty: 'health.states.ill.utilty' is not a column of the table "
          "of draws draws.csv that the PSA uses", "did you mean 'health.states.ill.utility'?"),
         command=PSA, files=psa_draws_file("{health.states.ill.utilty: [pathway.steps.assess.next.0.p]}")),
    Case("psa-draws-also-unknown", "course of illness", "a column of a table of draws tied ('also') to a key path "
         "the scenario does not have", HEALTHY,
         ("psa.yaml:6: draws.also.health.states.ill.utility.0: 'health.states.il.utility': no key 'il'",
          "did you mean 'health.states.ill.utility'?"),
         command=PSA, files=psa_draws_file("{health.states.ill.utility: [health.states.il.utility]}",
                                           "health.states.ill.utility\n0.55\n0.62\n")),
    Case("psa-draws-also-other-value", "course of illness", "a column of a table of draws tied to a key path with "
         "another base value", HEALTHY,
         ("psa.yaml:6: draws.also.pathway.steps.assess.next.0.p.0: 'pathway.steps.assess.next.1.p' is 0.3 in",
          "but 'pathway.steps.assess.next.0.p' is 0.7 in", "same base value (0.7) in every base scenario"),
         command=PSA, files=psa_draws_file("{pathway.steps.assess.next.0.p: [pathway.steps.assess.next.1.p]}",
                                           "pathway.steps.assess.next.0.p\n0.65\n0.75\n")),
    Case("psa-draws-also-column-too", "course of illness", "a column of a table of draws tied to another column",
         HEALTHY, ("psa.yaml:6: draws.also.health.states.ill.utility.0: 'health.states.well.utility' is a column of "
                   "the table of draws draws.csv", "take it from the table or tie it here, not both"),
         command=PSA, files=psa_draws_file("{health.states.ill.utility: [health.states.well.utility]}")),
    Case("psa-reach", "course of illness", "a PSA distribution that reaches values the scenario refuses (a "
         "utility uniform on 1.4 to 1.5), refused before drawing", HEALTHY,
         ("psa.yaml:6: parameters.health.states.ill.utility: this uniform distribution draws values from 1.4 to 1.5; "
          "health.states.ill.utility must be a number at most 1",),
         command=PSA, files=psa_file("health.states.ill.utility: {dist: uniform, low: 1.4, high: 1.5}")),
    Case("psa-draw-invalid", "course of illness", "a PSA draw the scenario refuses (a normal's tail), named by its "
         "parameter, not by every value drawn", HEALTHY,
         ("psa.yaml:6: parameters.health.states.ill.utility: point", "(fuzz) drew",   # which point and value:
          "health.states.ill.utility must be a number at most 1"),                     # scipy's Sobol sequence
         command=PSA, files=psa_file("health.states.ill.utility: {dist: normal, mean: 0.9, sd: 0.3}", samples=8)),
    Case("psa-label-twice", "course of illness", "two PSA parameters with the same label", HEALTHY,
         ("psa.yaml:7: parameters.health.states.well.utility.label: 'Utility' is also the label or key path of "
          "'health.states.ill.utility'", "a label names a setting in the tables and plots, so give each its own"),
         command=PSA, files=psa_file("health.states.ill.utility: {dist: beta, mean: 0.6, sd: 0.05, label: Utility}\n"
                                     "  health.states.well.utility: {dist: beta, mean: 0.9, sd: 0.02, label: Utility}")),
    Case("monitoring-staffed", "course of illness", "monitoring charged to a team costed by its establishment "
         "(its contacts cost nothing)", step_key("monitoring: {every: 2 weeks, cost_per_contact: 103}"),
         ("pathway.steps.assess.monitoring: monitoring contacts take no staff time in the model",
          "give the monitoring its own service without staff costs")),
]

COMMAND_LINE = [
    Case("seed-minus-1", "command line", "--seed -1", VALID,
         ("argument --seed: expected a whole number from 0 to 9223372036854775807, found -1",),
         command=(*RUN, "--seed", "-1")),
    Case("seed-text", "command line", "--seed 2e9", VALID, ("argument --seed: expected a whole number", "found '2e9'"),
         command=(*RUN, "--seed", "2e9")),
    Case("replications-text", "command line", "-n many", VALID,
         ("argument --replications/-n: expected a whole number, found 'many'",), command=(*RUN, "-n", "many")),
    Case("replications-zero", "command line", "-n 0", VALID, ("--replications must be at least 1, found 0",),
         command=(*RUN, "-n", "0")),
    Case("workers-zero", "command line", "-w 0", VALID,
         ("argument --workers/-w: expected a whole number of at least 1, found 0",), command=(*RUN, "-w", "0")),
    Case("max-replications-zero", "command line", "--max-replications 0", VALID,
         ("argument --max-replications: expected a whole number of at least 1",),
         command=(*RUN, "--precision", "0.1", "--max-replications", "0")),
    Case("precision-negative", "command line", "--precision -1", VALID, ("--precision must be greater than 0",),
         command=(*RUN, "--precision", "-1")),
    Case("kpi-unknown", "command line", "--kpi that does not exist", VALID,
         ("--kpi: 'nope' is not a KPI of this scenario",), command=(*RUN, "--precision", "0.1", "--kpi", "nope")),
    Case("precision-no-value", "command line", "--precision whose default KPI has no value (ran 100 replications "
         "to its cap)", VALID, ("wait_to_treatment_mean has no value in this scenario (no treatment step)",
                                "choose the measure with --kpi"), command=(*RUN, "--precision", "0.1")),
    Case("precision-cap-below", "command line", "-n 10 --max-replications 5 (ran 5)", VALID,
         ("--max-replications (5) is below --replications (10)",),
         command=(*RUN, "-n", "10", "--max-replications", "5", "--precision", "0.1", "--kpi", "cost_per_year")),
    Case("kpi-without-precision", "command line", "--kpi without --precision (ignored)", VALID,
         ("--kpi is for --precision",), command=(*RUN, "--kpi", "cost_per_year")),
    Case("max-replications-without-precision", "command line", "--max-replications without --precision (ignored)",
         VALID, ("--max-replications is for --precision",), command=(*RUN, "--max-replications", "5")),
    Case("out-not-utf8", "command line", "--out holding bytes that are not UTF-8", VALID,
         ("argument --out: expected a folder name in UTF-8 text",),
         command=("run", "{file}", "--out", "{dir}/out\udcff", "-q")),
    Case("out-is-file", "command line", "--out naming an existing file", VALID, ("is a file, not a folder",),
         command=("run", "{file}", "--out", "{dir}/notes.txt", "-q"), files={"notes.txt": "keep me"}),
    Case("file-missing", "command line", "a scenario file that does not exist", VALID, ("nowhere.yaml: file not found",),
         command=("run", "{dir}/nowhere.yaml", "-q")),
    Case("file-is-folder", "command line", "a folder given as the scenario", VALID, ("not a file",),
         command=("validate", "{dir}")),
    Case("compare-one", "command line", "compare with one scenario", VALID, ("compare needs at least two scenarios",),
         command=("compare", "{file}", "--out", "{dir}/out", "-q")),
    Case("compare-one-replication", "command line", "compare with -n 1", VALID,
         ("--replications must be at least 2 to give a confidence interval",),
         command=("compare", "{file}", "{dir}/b.yaml", "-n", "1", "--out", "{dir}/out", "-q"),
         files={"b.yaml": edit("name: small", "name: other")}),
    Case("compare-kpi-unknown", "command line", "compare --precision with a --kpi one scenario lacks", VALID,
         ("--kpi: 'nope' is not a KPI of scenario 'small'",),
         command=("compare", "{file}", "{dir}/b.yaml", "--precision", "0.1", "--kpi", "nope", "--out", "{dir}/out",
                  "-q"),
         files={"b.yaml": edit("name: small", "name: other")}),
    Case("compare-kpi-without-precision", "command line", "compare --kpi without --precision (ignored)", VALID,
         ("--kpi is for --precision",),
         command=("compare", "{file}", "{dir}/b.yaml", "--kpi", "cost_per_year", "--out", "{dir}/out", "-q"),
         files={"b.yaml": edit("name: small", "name: other")}),
    Case("compare-same-name", "command line", "compare two scenarios of one name", VALID,
         ("scenario names must differ to be compared",),
         command=("compare", "{file}", "{file}", "--out", "{dir}/out", "-q")),
]

OUTPUTS = [
    Case("out-exists", "output folder", "--out an existing results folder without --force", VALID,
         ("already exists: pass --force to replace it",), command=(*RUN,),
         files={"out/metadata.json": json.dumps({"kind": "run"})}),
    Case("health-utility-percent", "course of illness", "a utility written as a percentage (was told a share)",
         health("utility: 0.9", "utility: 85%"),
         (":36: health.states.well.utility: expected a number, found '85%' (a utility is not a percentage: 1 is "
          "full health and 0 death; 85% of full health is written 0.85)",)),
    Case("psa-sd-line", "course of illness", "a PSA distribution's impossible sd, over several lines (was named "
         "at the parameter's line)", HEALTHY,
         ("psa.yaml:9: parameters.health.states.ill.utility.sd: a beta distribution with mean 0.6 needs sd below "
          "0.4899, found 0.5",),
         command=PSA, files=psa_file("health.states.ill.utility:\n    dist: beta\n    mean: 0.6\n    sd: 0.5")),
    Case("psa-draws-missing", "course of illness", "a PSA's table of draws that does not exist (no line)", HEALTHY,
         ("psa.yaml:5: draws.file:", "nope.csv' does not exist (paths are relative to the sweep file)"),
         command=("validate", "{dir}/psa.yaml"),
         files={"psa.yaml": "sweep: {name: p, replications: 1}\nbase: fuzz.yaml\ndesign: psa\nsamples: 4\n"
                            "draws: {file: nope.csv}\n"}),
    Case("sweep-key-not-there", "sweep files", "a swept key the staff role has not (suggested a key from "
         "elsewhere in the schema)", VALID,
         ("sweep.yaml:4: parameters.services.team.staff.clinician.hours: no key 'hours' under "
          "services.team.staff.clinician of", "keys allowed there: label, wte, clinical_hours_per_week, "
          "cost_per_hour, paid_hours_per_year"),
         command=("validate", "{dir}/sweep.yaml"),
         files={"sweep.yaml": "sweep: {name: s, replications: 2}\nbase: fuzz.yaml\nparameters:\n"
                              "  services.team.staff.clinician.hours: {values: [1, 2]}\n"}),
    Case("sweep-value-line", "sweep files", "a swept value the scenario refuses (named at the parameter, "
         "not at the value)", VALID,
         ("sweep.yaml:7: parameters.services.team.staff.clinician.wte.values.1: point 1 (fuzz, "
          "services.team.staff.clinician.wte=-3) is not a valid scenario: services.team.staff.clinician.wte: "
          "expected a number at least 0, found -3",),
         command=("validate", "{dir}/sweep.yaml"),
         files={"sweep.yaml": "sweep: {name: s, replications: 2}\nbase: fuzz.yaml\nparameters:\n"
                              "  services.team.staff.clinician.wte:\n    values:\n      - 2\n      - -3\n"}),
    Case("force-not-results", "output folder", "--force onto a folder that is not icssim's", VALID,
         ("is not an icssim results folder", "refusing to replace it with --force"),
         command=(*RUN, "--force"), files={"out/thesis.docx": "years of work"}),
    Case("force-sweep", "output folder", "--force onto a sweep's folder", VALID,
         ("is a sweep folder: refusing to replace it with --force",),
         command=(*RUN, "--force"), files={"out/metadata.json": json.dumps({"kind": "sweep"})}),
    Case("out-dotdot", "output folder", "--out ending in '..'", VALID,
         ("argument --out:", "does not name a results folder: give --out a folder name"),
         command=("run", "{file}", "--out", "{dir}/x/..", "--force", "-q")),
    Case("sweep-restart-run", "output folder", "sweep --restart into a run's folder (deleted its report)", VALID,
         ("is a run folder, not a sweep's: refusing to write a sweep into it or delete it with --restart",),
         command=("sweep", "{dir}/sweep.yaml", "--out", "{dir}/out", "--restart", "--yes", "-q"),
         files={"out/metadata.json": json.dumps({"kind": "run"}), "out/report.html": "<p>keep</p>",
                "sweep.yaml": "sweep: {name: s, replications: 2}\nbase: fuzz.yaml\n"
                              "parameters:\n  services.team.staff.clinician.wte: {values: [2, 3]}\n"}),
    Case("sweep-name-dotdot", "output folder", "a sweep named '..'", VALID,
         ("sweep.name: expected a name", "(it names the results folder), found '..'"),
         command=("sweep", "{dir}/sweep.yaml", "--yes", "-q"),
         files={"sweep.yaml": "sweep: {name: '..', replications: 2}\nbase: fuzz.yaml\n"
                              "parameters:\n  services.team.staff.clinician.wte: {values: [2, 3]}\n"}),
]

#: --out inside a file: refused before anything is simulated (was "File exists", exit 1, or a crash)
IN_A_FILE = "notes.txt is a file, so it cannot hold the results folder"
SWEEP_FILE = ("sweep: {name: s, replications: 2}\nbase: fuzz.yaml\n"
              "parameters:\n  services.team.staff.clinician.wte: {values: [2, 3]}\n")
CALIBRATION_FILE = json.dumps({"calibration": {"name": "c", "seed": 1, "population": 10, "generations": 1,
                                               "max_simulations": 10},
                               "scenario": "fuzz.yaml",
                               "parameters": {"services.team.staff.clinician.wte": {"low": 2, "high": 4}},
                               "targets": {"a": {"kpi": "referrals_per_year", "value": 1000, "sd": 100,
                                                 "source": "s"}}})
NOTES = {"notes.txt": "keep me"}

HOLDERS = [
    Case("out-in-a-file-run", "output folder", "run --out inside a file (exit 1, in Python's words)", VALID,
         (f"{IN_A_FILE} ", "notes.txt/x"), command=("run", "{file}", "--out", "{dir}/notes.txt/x", "-q"), files=NOTES),
    Case("out-in-a-file-compare", "output folder", "compare --out inside a file", VALID, (IN_A_FILE,),
         command=("compare", "{file}", "{dir}/b.yaml", "-n", "2", "--out", "{dir}/notes.txt/x", "-q"),
         files={**NOTES, "b.yaml": edit("name: small", "name: other")}),
    Case("out-in-a-file-warmup", "output folder", "warmup --out inside a file", VALID, (IN_A_FILE,),
         command=("warmup", "{file}", "--out", "{dir}/notes.txt/x", "-q"), files=NOTES),
    Case("out-in-a-file-sweep", "output folder", "sweep --out inside a file (crashed after simulating)", VALID,
         (IN_A_FILE,), command=("sweep", "{dir}/sweep.yaml", "--out", "{dir}/notes.txt/x", "--yes", "-q"),
         files={**NOTES, "sweep.yaml": SWEEP_FILE}),
    Case("out-in-a-file-psa", "output folder", "psa --out inside a file (crashed after simulating)", HEALTHY,
         (IN_A_FILE,), command=("psa", "{dir}/psa.yaml", "--out", "{dir}/notes.txt/x", "-q"),
         files={**NOTES, **psa_file(BETA)}),
    Case("out-in-a-file-calibrate", "output folder", "calibrate --out inside a file (crashed after simulating)",
         VALID, (IN_A_FILE,), command=("calibrate", "{dir}/cal.yaml", "--out", "{dir}/notes.txt/x", "--yes", "-q"),
         files={**NOTES, "cal.yaml": CALIBRATION_FILE}),
    Case("report-out-in-a-file", "output folder", "report --out inside a file (crashed)", VALID,
         ("notes.txt is a file, so it cannot hold x.html",),
         command=("report", "{dir}/out", "--out", "{dir}/notes.txt/x.html"),
         files={**NOTES, "out/metadata.json": json.dumps({"kind": "run"})}),
]

DAMAGED = "the folder is damaged; run the command again"


def _damaged(id: str, what: str, name: str, content: str, said: str, kind: str = "run") -> Case:
    """``icssim report`` on a results folder one of whose files is damaged (it crashed, exit 70)."""
    files = {"out/metadata.json": json.dumps({"kind": kind}), f"out/{name}": content}
    return Case(f"report-{id}", "results folder read back", what, VALID, (f"out/{name} cannot be read ({said}): "
                f"{DAMAGED}",), command=("report", "{dir}/out"), files=files)


KPIS_HEADER = '"kpi","label","unit","mean","sd","n","lower","upper","half_width"\n'
READ_BACK = [
    _damaged("metadata-garbage", "metadata.json reading 'garbage' (a sync conflict)", "metadata.json", "garbage",
             "not JSON"),
    _damaged("metadata-list", "metadata.json reading []", "metadata.json", "[]", "not a JSON object"),
    _damaged("metadata-sweep", "a sweep folder whose metadata.json reads '{'", "metadata.json", "{", "not JSON",
             kind="sweep"),
    _damaged("scenario-empty", "an empty scenario.json", "scenario.json", "", "empty"),
    _damaged("kpis-empty", "an empty kpis.csv", "kpis.csv", "", "empty"),
    _damaged("kpis-truncated", "kpis.csv cut short inside a quoted cell", "kpis.csv",
             KPIS_HEADER + '"referrals_per_year","Help-seek', "not a complete CSV table"),
    _damaged("kpis-other", "kpis.csv without the columns of one", "kpis.csv", "a,b\n1,2\n",
             "no columns 'kpi', 'mean', 'lower', 'upper' and 'n'"),
    _damaged("parameters-empty", "an empty parameters.csv", "parameters.csv", "", "empty"),
    _damaged("psa-json", "a PSA folder whose psa.json is cut short", "psa.json", '{"strategies": [', "not JSON",
             kind="sweep"),
    _damaged("summary-header", "a comparison's summary.csv holding only its header", "summary.csv",
             "kpi,scenario,mean\n", "a header without rows", kind="compare"),
    Case("report-kpis-rows", "results folder read back", "kpis.csv cut at a line break (it read as fewer measures)",
         VALID, (f"out/kpis.csv cannot be read (1 row where icssim wrote 2, as metadata.json records): {DAMAGED}",),
         command=("report", "{dir}/out"),
         files={"out/metadata.json": json.dumps({"kind": "run", "files": {"kpis.csv": {"rows": 2, "bytes": 999}}}),
                "out/kpis.csv": KPIS_HEADER + '"referrals_per_year","Referrals","per year",1,0,2,1,1,0\n'}),
]

#: a file given to a command that runs another kind (was one message per key the other kind lacks)
OTHER_TEAM = edit("      service: team", "      service: crew", edit("  team:\n", "  crew:\n"))
NATIONAL_FILE = ("sweep: {name: n, replications: 1}\nbase: {a: fuzz.yaml, b: b.yaml}\n"
                 "areas:\n  rows: [{name: x, population: 200000}]\n"
                 "  scale: [services.team.staff.clinician.wte, services.crew.staff.clinician.wte]\n")
CALIBRATION_YAML = ("calibration: {name: c, population: 10, generations: 1, max_simulations: 10}\n"
                    "scenario: fuzz.yaml\nparameters:\n  services.team.staff.clinician.wte: {low: 2, high: 4}\n"
                    "targets:\n  a: {kpi: referrals_per_year, value: 1000, sd: 100, source: s}\n"
                    "  b: {kpi: utilisation_team/clinicain, value: 0.8, sd: 0.1, source: s}\n")
CAL_RATE = ("calibration: {name: c, population: 10, generations: 1, max_simulations: 10}\n"
            "scenario: fuzz.yaml\nparameters:\n  cohorts.young.rate: {low: 2, high: 4}\n"
            "targets:\n  a: {kpi: referrals_per_year, value: 1000, sd: 100, source: s}\n")
def optimise_target(case: str, what: str, target: str, expect: tuple[str, ...]) -> Case:
    """A sweep file whose ``optimise.target`` (line 6) is ``target``, given to validate."""
    return Case(case, "file kinds and measure names", what, VALID, expect, command=("validate", "{dir}/sweep.yaml"),
                files={"sweep.yaml": SWEEP_FILE + f"optimise:\n  target: {target}\n"})


KINDS = [
    optimise_target("optimise-target-percent", "an optimise target written as a percentage (validate said ok; "
                    "optimise blamed a --target never given)", "utilisation_team/clinician <= 85%",
                    ("sweep.yaml:6: optimise.target: expected '<KPI> >= <number>' (or <=, >, <)",
                     "(utilisation_team/clinician is a share of 1: 85% is written 0.85)")),
    optimise_target("optimise-target-no-operator", "an optimise target without >= or <=",
                    "utilisation_team/clinician 0.85",
                    ("sweep.yaml:6: optimise.target: expected '<KPI> >= <number>' (or <=, >, <), e.g. "
                     "'within_routine_4_weeks >= 0.95', found 'utilisation_team/clinician 0.85'",)),
    optimise_target("optimise-target-share-over-1", "a share target of 85 (no point meets 8500%)",
                    "utilisation_team/clinician <= 85",
                    ("sweep.yaml:6: optimise.target: utilisation_team/clinician is a share between 0 and 1, "
                     "found 85 (85% is written 0.85)",)),
    Case("kind-run-psa", "file kinds and measure names", "a PSA file given to run (10 unknown and missing keys)",
         HEALTHY, ("psa.yaml is a PSA file (a 'sweep:' with design: psa): run it with `icssim psa`",),
         command=("run", "{dir}/psa.yaml", "-q"), files=psa_file(BETA)),
    Case("kind-sweep-scenario", "file kinds and measure names", "a scenario given to sweep (9 unknown keys)", VALID,
         ("fuzz.yaml is a scenario file: run it with `icssim run`",), command=("sweep", "{file}", "-q")),
    Case("kind-run-calibration", "file kinds and measure names", "a calibration file given to run", VALID,
         ("cal.yaml is a calibration file (a 'calibration:' block): run it with `icssim calibrate`",),
         command=("run", "{dir}/cal.yaml", "-q"), files={"cal.yaml": CALIBRATION_FILE}),
    Case("kind-calibrate-sweep", "file kinds and measure names", "a sweep file given to calibrate", VALID,
         ("sweep.yaml is a sweep file (a 'sweep:' with design: grid): run it with `icssim sweep`",),
         command=("calibrate", "{dir}/sweep.yaml", "-q"), files={"sweep.yaml": SWEEP_FILE}),
    Case("kind-sweep-national", "file kinds and measure names", "a national file (bases with teams of their own) given "
         "to sweep (a key missing from one base)", VALID,
         ("n.yaml is a national sweep file", "run it with `python -m icssim.national run`"),
         command=("sweep", "{dir}/n.yaml", "-q"), files={"n.yaml": NATIONAL_FILE, "b.yaml": OTHER_TEAM}),
    Case("sweep-kpi-misspelt", "file kinds and measure names", "a misspelt KPI in a sweep's kpis (validate said ok)",
         VALID, ("sweep.yaml:5: kpis.1: 'referals_per_year' is not a KPI of its base scenario; did you mean "
                 "'referrals_per_year'?",),
         command=("validate", "{dir}/sweep.yaml"),
         files={"sweep.yaml": SWEEP_FILE + "kpis: [cost_per_year, referals_per_year]\n"}),
    Case("calibration-kpi-misspelt", "file kinds and measure names", "a misspelt calibration target (found missing in "
         "every simulation, the right ones blamed too)", VALID,
         ("cal.yaml:7: targets.b.kpi: 'utilisation_team/clinicain' is not a KPI of this scenario; did you mean "
          "'utilisation_team/clinician'?",), command=("validate", "{dir}/cal.yaml"),
         files={"cal.yaml": CALIBRATION_YAML}),
    Case("featured-too-many", "file kinds and measure names", "13 report.featured measures (in pydantic's words)",
         VALID + "report: {featured: [" + ", ".join(["cost_per_year"] * 13) + "]}\n",
         (":31: report.featured: at most 12 featured measures, found 13",)),
    Case("featured-misspelt", "file kinds and measure names", "a misspelt report.featured measure (left out of the "
         "report without a word)", VALID + "report: {featured: [cost_per_year, cost_per_yeer]}\n",
         (":31: report.featured.1: 'cost_per_yeer' is not a KPI of this scenario; did you mean 'cost_per_year'?",)),
    Case("path-time-step-misspelt", "file kinds and measure names", "a path time to a misspelt step (a time no one "
         "reaches)", scenario_key('path_times: {to_assess: {label: "Arrival to assessment", from: arrival, to: asess}}'),
         (":6: scenario.path_times.to_assess.to: step 'asess' is not defined; did you mean 'assess'?",)),
    Case("path-time-cohort-misspelt", "file kinds and measure names", "a path time of a misspelt cohort (measured over "
         "no one)", scenario_key('path_times: {to_assess: {label: "Arrival to assessment", from: arrival, to: assess, '
                                 'cohort: yung}}'),
         (":6: scenario.path_times.to_assess.cohort: cohort 'yung' is not defined; did you mean 'young'?",)),
    Case("path-time-name", "file kinds and measure names", "a path time whose name cannot be part of a KPI's name",
         scenario_key('path_times: {To-Assess: {label: "x", from: arrival, to: assess}}'),
         (":6: scenario.path_times.To-Assess: expected a name of lower-case letters, digits and '_', starting with a "
          "letter (it is part of the KPIs' names), found 'To-Assess'",)),
    Case("interval-point-misspelt", "file kinds and measure names", "a misspelt point of a step in an interval "
         "standard (a pattern in pydantic's words)",
         scenario_key("standards: {to_assess: {from: assess.entry, to: assess.start, within: 2}}"),
         (":6: scenario.standards.to_assess.from: expected a point of the path: 'arrival', 'exit', '<step>', "
          "'<step>.enter', '<step>.start' or '<step>.end', found 'assess.entry'; did you mean 'assess.enter'?",)),
    Case("path-time-no-label", "file kinds and measure names", "a path time without its label (what it measures)",
         scenario_key("path_times: {to_assess: {from: arrival, to: assess}}"),
         (":6: scenario.path_times.to_assess.label: required key 'label' is missing",)),
    Case("path-time-arrival-enter", "file kinds and measure names", "'.enter' on arrival (read as a step called "
         "'arrival' that is not defined)",
         scenario_key('path_times: {to_assess: {label: "x", from: arrival.enter, to: assess}}'),
         (":6: scenario.path_times.to_assess.from: 'arrival' is a point of its own, with no '.enter' (only a step has "
          "'.enter', '.start' and '.end'): write 'arrival', found 'arrival.enter'",)),
    Case("path-time-from-exit", "file kinds and measure names", "a path time from exit (the points allowed not named)",
         scenario_key('path_times: {to_assess: {label: "x", from: exit, to: assess}}'),
         (":6: scenario.path_times.to_assess.from: an interval cannot start at exit: expected 'arrival', '<step>', "
          "'<step>.enter', '<step>.start' or '<step>.end'",)),
    Case("path-time-same-point", "file kinds and measure names", "a path time from a step to its own start (0 for "
         "everyone, accepted)", scenario_key('path_times: {to_assess: {label: "x", from: assess, to: assess.start}}'),
         (":6: scenario.path_times.to_assess.to: 'to' is the same point as 'from' ('assess' and 'assess.start' are "
          "both the start of 'assess'), so every time would be 0: expected a later point ('assess.end' or a later "
          "step)",)),
    Case("interval-backwards", "file kinds and measure names", "a standard from a step's start to its entry (every "
         "time 0 or negative, so always within; accepted)",
         scenario_key("standards: {to_assess: {from: assess.start, to: assess.enter, within: 2}}"),
         (":6: scenario.standards.to_assess.to: 'assess.enter' comes before 'assess.start' (a step is entered before "
          "it starts or ends), so every time would be 0 or negative: did you mean from 'assess.enter' to "
          "'assess.start'?",)),
    Case("interval-standard-no-to", "file kinds and measure names", "an interval standard without 'to' (which of the "
         "two was missing not said)", scenario_key("standards: {to_assess: {from: arrival, within: 2}}"),
         (":6: scenario.standards.to_assess: an interval standard needs both 'from' and 'to': 'to' is missing (where "
          "its clock stops)",)),
    Case("interval-standard-measure-and-to", "file kinds and measure names", "a standard with 'measure' and 'to' "
         "(read as an interval missing 'from')",
         scenario_key("standards: {to_assess: {measure: referral_to_assessment, to: assess, within: 2}}"),
         (":6: scenario.standards.to_assess: give either 'measure' or 'from' and 'to', not both",)),
    Case("featured-path-time-unit", "file kinds and measure names", "a path time's median in minutes featured in a "
         "scenario whose times are in days (why not said)",
         scenario_key('path_times: {to_assess: {label: "x", from: arrival, to: assess}}')
         + "report: {featured: [path_time_median_minutes_to_assess]}\n",
         (":32: report.featured.0: 'path_time_median_minutes_to_assess' is not a KPI of this scenario; did you mean "
          "'path_time_median_days_to_assess'? (a time at a stage, from arrival or on a path is named in minutes when "
          "the scenario's time_unit is minutes or hours, else in days)",)),
    Case("featured-waits-words", "file kinds and measure names", "a generic wait featured by report.waits' words "
         "(a wrong nearest name only)", VALID + "report: {waits: {treatment: first therapy session}, "
         "featured: [wait_to_first_therapy_session_median]}\n",
         (":31: report.featured.0: 'wait_to_first_therapy_session_median' is not a KPI of this scenario; did you mean ",
          "(the generic waits keep their names, wait_to_assessment_* and wait_to_treatment_*, whatever words "
          "report.waits gives them)")),
    Case("waits-words-misspelt", "file kinds and measure names", "a misspelt key of report.waits (the generic "
         "waits' words)", VALID + "report: {waits: {from: Arrival, assesment: first assessment}}\n",
         (":31: report.waits.assesment: unknown key 'assesment'; did you mean 'assessment'? (expected one of: from, "
          "assessment, treatment)",)),
    Case("calibration-prior-no-unit", "file kinds and measure names", "a calibration prior without the unit its base "
         "writes (read in the base's unit, where a sweep or PSA refused the same numbers)", VALID,
         ("cal.yaml:4: parameters.cohorts.young.rate: the base writes '3 per day' at ",
          "fuzz.yaml:11: give 'unit: per day' (the unit of low and high)"),
         command=("validate", "{dir}/cal.yaml"), files={"cal.yaml": CAL_RATE}),
    Case("calibration-prior-wrong-unit", "file kinds and measure names", "a calibration prior's time unit on a rate",
         VALID, ("cal.yaml:4: parameters.cohorts.young.rate.unit: unit 'hours' is a time, but the base writes "
                 "'3 per day' at ", "fuzz.yaml:11, a rate: give a rate unit such as 'unit: per day'"),
         command=("validate", "{dir}/cal.yaml"),
         files={"cal.yaml": CAL_RATE.replace("{low: 2, high: 4}", "{low: 2, high: 4, unit: hours}")}),
    Case("optimise-minimise-sum-misspelt", "file kinds and measure names", "a misspelt KPI in a later term of a sum to "
         "minimise (only the first term was checked before the run)", VALID,
         ("sweep.yaml:7: optimise.minimise: 'staff_cost_per_yaer' is neither a KPI of its base scenario nor a swept "
          "parameter; did you mean 'staff_cost_per_year'?",),
         command=("validate", "{dir}/sweep.yaml"),
         files={"sweep.yaml": SWEEP_FILE + "optimise:\n  target: referrals_per_year >= 0\n"
                                           "  minimise: cost_per_year + 2*staff_cost_per_yaer\n"}),
]

CASES: list[Case] = [*_existing(), *NAMES, *FILES, *SIZE, *DATES, *DISTRIBUTIONS, *NUMBERS, *ENDLESS, *HEALTH,
                     *COMMAND_LINE, *OUTPUTS, *KINDS, *HOLDERS, *READ_BACK]


def markdown() -> str:
    """docs/errors.md: the catalogue as tables, one per area."""
    lines = [
        "# Errors icssim refuses, and what it says",
        "",
        "Every bad input below is run by `tests/test_catalogue.py` on each CI run: the command exits",
        "with status 2 (a mistake in the input) and prints the message fragments shown, naming the file,",
        "line and key where there is one, and never a Python traceback. The scenario files are edits of",
        "the small scenario in `tests/test_cli_validate.py`. This page is written from",
        "`tests/catalogue.py` (`python tests/catalogue.py > docs/errors.md`); a test keeps them in step.",
        "",
        "Exit statuses of every command: **0** done; **2** a mistake in the input or command (the cases",
        "here); **1** the machine refused (disk full, permission denied: one sentence saying what to do);",
        "**3** done, but no answer (`optimise`: no point meets the target; `calibrate`: nothing fits);",
        "**130** Ctrl-C and **143** SIGTERM (finished replications kept in `<out>-interrupted/`; for",
        "`compare`, the replications finished for every scenario, kept as a comparison); **70** a",
        "bug in icssim: one line naming the command, with the traceback saved to a file",
        "(`icssim-crash-*.txt` in the temporary folder) to attach to a report. A run that fails after",
        "some replications finished keeps them in `<out>-incomplete/`. A run whose `--out` another",
        "process wrote while it ran is done (**0**): a warning names the `<out>-2/` its results went to.",
        "",
        f"{len(CASES)} cases.",
    ]
    areas: dict[str, list[Case]] = {}
    for case in CASES:
        areas.setdefault(case.area, []).append(case)
    for area, cases in areas.items():
        lines += ["", f"## {area.capitalize()} ({len(cases)})", "", "| id | bad input | command | the message says |",
                  "|---|---|---|---|"]
        for c in cases:
            command = " ".join(c.command).replace("{file}", "FILE").replace("{dir}/", "")
            said = " … ".join(_cell(e) for e in c.expect)
            lines.append(f"| `{c.id}` | {_cell(c.what)} | `{_cell(command)}` | {said} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ").replace("\udcff", "\\xff")
    return text if len(text) <= 160 else text[:157] + "..."


if __name__ == "__main__":
    sys.stdout.write(markdown())
