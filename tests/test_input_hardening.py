"""Issue 18, validation side: hostile or careless scenario files are refused by ``icssim validate``
(exit 2, file, line, key and what was expected), quickly, never with a traceback, and never
echoing the content of a file that is not a scenario.

Each case edits the VALID scenario of ``tests/test_cli_validate.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from icssim.cli import main
from icssim.scenario.checks import expected_visits
from icssim.scenario.loader import load_scenario
from icssim.scenario.schema import MAX_SEED
from test_cli_validate import VALID

KEY = "key"


def _edit(old: str, new: str, text: str = VALID) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _add_scenario_key(line: str) -> str:
    return _edit("  warmup: 10\n", f"  warmup: 10\n  {line}\n")


def _refused(tmp_path: Path, text: str | bytes, fragments: list[str], capsys, name: str = "bad") -> str:
    """Validate ``text`` as a file; it must exit 2 naming the file and every fragment; return stderr."""
    path = tmp_path / f"{name}.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: INVALID" in err
    assert "Traceback" not in err and "internal error" not in err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    return err


# --- 1. the scenario name is a safe path component -------------------------------------------------

@pytest.mark.parametrize("name, fragments", [
    ("'.'", ["found '.'"]),
    ("'..'", ["found '..'"]),
    (".hidden", ["found '.hidden'"]),
    ("-rf", ["found '-rf'"]),
    ("ends.", ["found 'ends.'"]),
    ("a/b", ["found 'a/b'"]),
    ("'é'", ["found 'é'"]),
    ("a" * 300, ["at most 100 characters", "found 300 characters"]),
    ("CON", ["reserved by Windows", "'CON'"]),
    ("lpt1.txt", ["reserved by Windows"]),
])
def test_unsafe_scenario_name_is_refused(name, fragments, tmp_path, capsys):
    text = _edit("name: small", f"name: {name}")
    _refused(tmp_path, text, [":2:", "scenario.name:", "results folder", *fragments], capsys)


def test_name_rule_keeps_ordinary_names(tmp_path, capsys):
    for name in ("small", "ed_v2.1", "A-b_c", "x" * 100, "_x"):
        path = tmp_path / "ok.yaml"
        path.write_text(_edit("name: small", f"name: {name}"))
        assert main(["validate", str(path)]) == 0, capsys.readouterr().err


# --- 2. never echo a file that is not a scenario ---------------------------------------------------

SECRET = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


def test_extends_a_file_that_is_not_a_scenario_does_not_show_it(tmp_path, capsys):
    (tmp_path / "passwd").write_text(SECRET)
    err = _refused(tmp_path, "extends: passwd\n" + VALID,
                   [":1: extends: 'passwd' is not a usable base scenario", "expected a scenario YAML file",
                    f"{tmp_path / 'passwd'}:1:", "expected a mapping of keys", "(not shown)"], capsys)
    assert "root:x" not in err and "daemon" not in err


def test_extends_etc_passwd(tmp_path, capsys):
    if not Path("/etc/passwd").is_file():
        pytest.skip("no /etc/passwd")
    err = _refused(tmp_path, "extends: /etc/passwd\n" + VALID, ["extends:", "not a usable base scenario"], capsys)
    assert "root:" not in err and "/bin/" not in err


@pytest.mark.parametrize("content, fragments", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["cannot read file", "binary", "expected a scenario YAML file"]),
    ("scenario: {name: sm\xe9ll}\n".encode("latin-1"), [":1:", "not UTF-8 text", "save it again as UTF-8"]),
])
def test_binary_or_not_utf8_base_is_refused(content, fragments, tmp_path, capsys):
    (tmp_path / "base.bin").write_bytes(content)
    err = _refused(tmp_path, "extends: base.bin\n" + VALID, ["extends:", "not a usable base scenario", *fragments],
                   capsys)
    assert "IHDR" not in err


@pytest.mark.parametrize("content, fragments", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["cannot read file", "binary", "expected a scenario YAML file"]),
    (VALID.replace("name: small", "name: sm\xe9ll").encode("latin-1"), [":2:", "not UTF-8 text"]),
    (VALID.encode("utf-16"), ["it is saved as UTF-16, not UTF-8: save it again as UTF-8"]),   # Notepad's "Unicode"
    (VALID.encode("utf-16-le"), ["it is saved as UTF-16, not UTF-8"]),   # the same without its mark
])
def test_binary_or_not_utf8_scenario_is_refused(content, fragments, tmp_path, capsys):
    _refused(tmp_path, content, fragments, capsys)


def _with_waiting_list(csv_name: str) -> str:
    return _add_scenario_key("start_date: 2026-04-01") + f"initial_state:\n  file: {csv_name}\n"


def test_waiting_list_that_is_not_a_csv_is_not_shown(tmp_path, capsys):
    (tmp_path / "passwd").write_text(SECRET)
    err = _refused(tmp_path, _with_waiting_list("passwd"),
                   ["initial_state.file:", "is not a waiting-list CSV", "expected a header row with the columns "
                    "cohort, referral_date, step"], capsys)
    assert "root:x" not in err and "daemon" not in err


@pytest.mark.parametrize("content, fragments", [
    (b"cohort,referral_date,step\nyoung,2026-01-01,assess\xff\n", ["not UTF-8 text", "line 2",
                                                                       "expected a waiting-list CSV"]),
    ("cohort,referral_date,step\nyoung,2026-01-01,assess # \u00a3\n".encode("cp1252"),   # Excel's CSV on Windows
     ["not UTF-8 text (line 2: byte 0xa3, '\u00a3' in Windows-1252): save it again as UTF-8"]),
    ("cohort,referral_date,step\nyoung,2026-01-01,assess\n".encode("utf-16"), ["saved as UTF-16, not UTF-8"]),
    (b"cohort,referral_date,step\nyoung,2026-01-01,assess\x00\n", ["binary", "expected a waiting-list CSV"]),
    (("cohort,referral_date,step\nyoung,2026-01-01,\"" + "x" * 200_000 + "\"\n").encode(),
     ["cannot be read as CSV", "expected a waiting-list CSV"]),
])
def test_unreadable_waiting_list_is_refused(content, fragments, tmp_path, capsys):
    (tmp_path / "list.csv").write_bytes(content)
    err = _refused(tmp_path, _with_waiting_list("list.csv"), ["initial_state.file:", *fragments], capsys)
    assert "xxxxxxxx" not in err


# --- 3. hostile nesting and size are refused at once -----------------------------------------------

@pytest.mark.parametrize("text", [
    "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "a: " + "{a: " * 5000 + "}" * 5000 + "\n",
    "- " * 100_000 + "x\n",
    "".join(" " * i + f"k{i}:\n" for i in range(1000)),
], ids=["brackets_5000", "brackets_100000", "braces_5000", "dashes_100000", "indent_1000"])
def test_deep_nesting_is_refused_quickly(text, tmp_path, capsys):
    started = time.perf_counter()
    _refused(tmp_path, text, ["nested more than 50 levels deep", "expected a scenario YAML file"], capsys)
    assert time.perf_counter() - started < 5


def test_nesting_inside_quotes_and_comments_is_text(tmp_path, capsys):
    text = _edit("name: small", "name: small\n  description: \"[[[[" + "[" * 100 + "\"  # {{{{" + "{" * 100)
    path = tmp_path / "ok.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_large_file_is_refused_quickly(tmp_path, capsys):
    started = time.perf_counter()
    _refused(tmp_path, VALID + "# " + "x" * 2_000_000 + "\n", ["larger than 1,000,000 bytes", "1 MB"], capsys)
    assert time.perf_counter() - started < 5


def test_number_of_thousands_of_digits_is_refused(tmp_path, capsys):
    _refused(tmp_path, _edit("wte: 3,", "wte: " + "1" * 5000 + ","),
             ["not valid YAML", "a number with thousands of digits"], capsys)


# --- 4. YAML merge keys -----------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, line", [
    ("    done: {kind: discharge}\n    other: {kind: discharge}\n",
     "    done: &end {kind: discharge}\n    other:\n      <<: *end\n      label: other\n", 31),
    ("    other: {kind: discharge}", "    other: {<<: {kind: discharge}}", 30),
    ("    other: {kind: discharge}", "    other:\n      <<: [{kind: discharge}]", 31),
], ids=["alias", "flow", "list"])
def test_merge_key_is_refused(old, new, line, tmp_path, capsys):
    _refused(tmp_path, _edit(old, new), [f":{line}:", "merge key '<<'", "not supported", "write the keys out"],
             capsys)


def test_quoted_double_angle_is_an_ordinary_key(tmp_path, capsys):
    _refused(tmp_path, _edit("    other: {kind: discharge}", "    other: {'<<': 1, kind: discharge}"),
             ["pathway.steps.other.<<", "unknown key '<<'"], capsys)


# --- 5. dates ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("date, fragments", [
    ("2026-02-30", ["expected a date such as 2026-04-01", "found '2026-02-30'"]),
    ("2026-13-01", ["expected a date such as 2026-04-01", "found '2026-13-01'"]),
    ("9999-12-01", ["between 1900-01-01 and 2200-12-31", "found start_date 9999-12-01"]),
    ("0001-01-01", ["between 1900-01-01 and 2200-12-31", "found start_date 0001-01-01"]),
    ("2200-12-01", ["between 1900-01-01 and 2200-12-31", "horizon of 60"]),
])
def test_impossible_or_far_start_date_is_refused(date, fragments, tmp_path, capsys):
    _refused(tmp_path, _add_scenario_key(f"start_date: {date}"), [":6:", "scenario.start_date:", *fragments],
             capsys)


# --- 6. degenerate distribution parameters ----------------------------------------------------------

@pytest.mark.parametrize("dist, fragments", [
    ("{dist: gamma, mean: 1 hour, sd: 1e-300}", ["sd must be between 1e-06 and 10000 times the mean"]),
    ("{dist: gamma, mean: 1e-300, sd: 1 hour}", ["sd must be between 1e-06 and 10000 times the mean"]),
    ("{dist: lognormal, mean: 1 hour, sd: 1e-300}", ["sd must be between 1e-06 and 10000 times the mean"]),
    ("{dist: lognormal, mean: 1e-12, sd: 1e11}", ["sd must be between 1e-06 and 10000 times the mean"]),
    ("{dist: triangular, low: 1, mode: 1, high: 1}", ["low < high"]),
    ("{values: [1 hour, 2 hours], weights: [1e308, 1e308]}", ["weights", "at most 1e+12", "found 1e+308"]),
    ("{values: [1 hour, 2 hours], weights: [.inf, 1]}", ["weights.0", "expected a finite number"]),
    ("{values: [1 hour, 2 hours], weights: [.nan, 1]}", ["weights.0", "expected a finite number"]),
    ("{values: [1 hour, 2 hours], weights: [0, 0]}", ["add up to more than 0"]),
], ids=["gamma_tiny_sd", "gamma_tiny_mean", "lognormal_tiny_sd", "lognormal_huge_cv", "triangular_point",
        "empirical_overflow", "empirical_inf", "empirical_nan", "empirical_zero"])
def test_degenerate_distribution_is_refused(dist, fragments, tmp_path, capsys):
    _refused(tmp_path, _edit("duration: 1 hour", f"duration: {dist}"),
             [":26:", "pathway.steps.assess.duration", *fragments], capsys)


# --- 7. booleans are not numbers; numbers are finite and of sane size ------------------------------

@pytest.mark.parametrize("old, new, line, key", [
    ("wte: 3,", "wte: true,", 19, "services.team.staff.clinician.wte"),
    ("  warmup: 10", "  warmup: 10\n  seed: true", 6, "scenario.seed"),
    ("p: 0.7}", "p: true}", 28, "pathway.steps.assess.next.0.p"),
    ("population: 100000", "population: true", 6, "scenario.population"),
    ("weights: [3, 1]", "weights: [3, false]", 14, "cohorts.young.attributes.urgency.weights"),
    ("cost_per_hour: 60", "cost_per_hour: false", 19, "services.team.staff.clinician.cost_per_hour"),
    ("clinical_hours_per_week: 22.5", "clinical_hours_per_week: True", 19,
     "services.team.staff.clinician.clinical_hours_per_week"),
    ("duration: 1 hour", "duration: {values: [1 hour, 2 hours], weights: [true, 1]}", 26,
     "pathway.steps.assess.duration.weights"),
], ids=["wte", "seed", "p", "population", "weights", "cost", "hours_True", "empirical_weights"])
def test_boolean_where_a_number_is_expected_is_refused(old, new, line, key, tmp_path, capsys):
    _refused(tmp_path, _edit(old, new), [f":{line}:", f"{key}:", "expected a number, found true"
                                         if "false" not in new else "expected a number, found false"], capsys)


@pytest.mark.parametrize("old, new, key, fragments", [
    ("cost_per_hour: 60", "cost_per_hour: 1e308", "services.team.staff.clinician.cost_per_hour",
     ["at most 1e+12", "found 1e+308"]),
    ("cost_per_hour: 60", "cost_per_hour: .inf", "services.team.staff.clinician.cost_per_hour",
     ["expected a finite number"]),
    ("wte: 3,", "wte: .nan,", "services.team.staff.clinician.wte", ["expected a finite number"]),
    ("wte: 3,", "wte: 1000000000000000000000000000000,", "services.team.staff.clinician.wte",
     ["at most 1e+12", "found 1e+30"]),
    ("population: 100000", "population: 1000000000000000000000000000000", "scenario.population",
     ["at most 1e+12", "found 1e+30"]),
    ("  warmup: 10", "  warmup: 10\n  seed: 9223372036854775808", "scenario.seed",
     ["from 0 to 9223372036854775807", "found 9223372036854775808"]),
    ("  warmup: 10", "  warmup: 10\n  seed: -1", "scenario.seed", ["from 0 to 9223372036854775807", "found -1"]),
], ids=["cost_1e308", "cost_inf", "wte_nan", "wte_1e30", "population_1e30", "seed_2_63", "seed_negative"])
def test_non_finite_or_huge_number_is_refused(old, new, key, fragments, tmp_path, capsys):
    _refused(tmp_path, _edit(old, new), [f"{key}:", *fragments], capsys)


def test_largest_seed_is_accepted_by_numpy(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(_add_scenario_key(f"seed: {MAX_SEED}"))
    seed = load_scenario(path).scenario.seed
    assert seed == 2**63 - 1
    np.random.default_rng(np.random.SeedSequence(seed))


# --- 8. loops that cannot end in practice -----------------------------------------------------------

def _loop(next_: str, duration: str = "1e-12") -> str:
    return (_edit("next: [{to: done, p: 0.7}, {to: other, p: 0.3}]", "next: loop")
            + f"    loop: {{kind: delay, duration: {duration}, next: {next_}}}\n")


@pytest.mark.parametrize("next_, fragments", [
    ("[{to: loop, p: 0.999999999}, {to: done, p: 1e-9}]", ["about 1e+09 times each", "at most 10,000"]),
    ("[{to: loop, p: 0.99999}, {to: done, p: 0.00001}]", ["about 1e+05 times each", "at most 10,000"]),
    ("[{to: loop, p: 1}, {to: done, p: 0}]", ["could never leave the pathway", "probability 0"]),
], ids=["exit_1e-9", "exit_1e-5", "exit_0"])
def test_loop_that_cannot_end_in_practice_is_refused(next_, fragments, tmp_path, capsys):
    started = time.perf_counter()
    _refused(tmp_path, _loop(next_), [":31:", "pathway.steps.loop:", *fragments], capsys)
    assert time.perf_counter() - started < 5


def test_expected_visits(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(_loop("[{to: loop, p: 0.75}, {to: done, p: 0.25}]", "1 day"))
    visits = expected_visits(load_scenario(path))
    assert visits == pytest.approx({"assess": 1.0, "loop": 4.0, "done": 1.0, "other": 0.0})
    # conditional branches count as equally likely: a 'when' loop back is left half the time
    path.write_text(_loop('[{to: loop, when: "age < 12"}, {to: done}]', "1 day"))
    assert expected_visits(load_scenario(path))["loop"] == pytest.approx(2.0)
    path.write_text(VALID)
    assert expected_visits(load_scenario(path)) == pytest.approx({"assess": 1.0, "done": 0.7, "other": 0.3})


# --- further findings: work that would not end, or crash the engine after validating --------------

def _with_demand(demand: str, horizon: str = "60") -> str:
    return _edit("    rate: 3 per day", f"    rate: 3 per day\n    demand: {demand}").replace(
        "horizon: 60", f"horizon: {horizon}")


@pytest.mark.parametrize("text, fragments", [
    (_with_demand("{growth_per_year: 1e12}", "100 years"), ["more than 1e300 patients", "without end"]),
    (_with_demand("{changes: [{at: 1, factor: 1e12}, {at: 2, factor: 1e12}]}"), ["about 1.8e+26 patients"]),
    (_add_scenario_key("start_date: 2026-04-01").replace(
        "    rate: 3 per day", "    rate: 3 per day\n    demand: {seasonality: [1e12, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}"),
     ["about 15,000,000,000,165 patients"]),
    (_add_scenario_key("start_date: 2026-04-01") + "initial_state:\n  waiting: "
     "[{step: assess, cohort: young, count: 10000000, waited: 1}]\n", ["10,000,000 of them already waiting"]),
], ids=["growth", "changes", "seasonality", "initial_count"])
def test_demand_that_would_never_finish_is_refused(text, fragments, tmp_path, capsys):
    line = 9 if "start_date" not in text else 10  # the 'cohorts:' line
    _refused(tmp_path, text, [f":{line}: cohorts:", "patients would arrive", "the limit is 5,000,000", *fragments],
             capsys)


@pytest.mark.parametrize("old, new, key, fragments", [
    ("      queue: priority", "      queue: priority\n      monitoring: {every: 1e-9, until: [done]}",
     "pathway.steps.assess.monitoring.every", ["monitoring contacts per patient", "at most 100,000"]),
    ("    done: {kind: discharge}", "    done: {kind: discharge}\n    pan: {kind: panel, meets: {every: 1e-300}, "
     "next: done}", "pathway.steps.pan.meets.every", ["panel meetings", "at most 100,000"]),
    ("      queue: priority", "      queue: priority\n      caseload: true\n      sessions: {count: 1e12, every: 1 week}",
     "pathway.steps.assess.sessions.count", ["at most 10,000 sessions per episode", "mean of 1e+12"]),
], ids=["monitoring_every", "panel_every", "sessions_count"])
def test_schedules_without_end_are_refused(old, new, key, fragments, tmp_path, capsys):
    text = _edit(old, new).replace("    staff:\n      clinician:", "    caseload: 5\n    staff:\n      clinician:")
    _refused(tmp_path, text, [f"{key}:", *fragments], capsys)


def test_initial_wait_of_centuries_is_refused(tmp_path, capsys):
    text = _add_scenario_key("start_date: 2026-04-01") + (
        "initial_state:\n  waiting: [{step: assess, cohort: young, count: 5, waited: 1e12}]\n")
    _refused(tmp_path, text, [":33:", "initial_state.waiting.0.waited:", "at most 100 years", "2.74e+09 years"],
             capsys)


@pytest.mark.parametrize("value", ["nan", "1e999", "inf"])
def test_condition_on_non_finite_number_is_refused(value, tmp_path, capsys):
    text = _edit("next: [{to: done, p: 0.7}, {to: other, p: 0.3}]", f'next: [{{to: done, when: "age < {value}"}}, '
                 "{to: other}]")
    _refused(tmp_path, text, [":28:", "pathway.steps.assess.next.0.when:", f"'{value}' should be a finite number"],
             capsys)


# --- percentages and thousands typed as text, and knock-on findings of a bad value ----------------

@pytest.mark.parametrize("old, new, fragments", [
    ("{to: done, p: 0.7}, {to: other, p: 0.3}", "{to: done, p: 70%}, {to: other, p: 30%}",
     ["next.0.p: expected a number, found '70%' (a share of 1: 70% is written 0.7)"]),
    ("{to: done, p: 0.7}, {to: other, p: 0.3}", "{to: done, p: 70}, {to: other, p: 30}",
     ["next.0.p: expected a probability between 0 and 1, found 70 (70% is written 0.7)"]),
    ("  population: 100000", "  population: 100,000", ["found '100,000' (write 100000, without commas)"]),
    ("wte: 3,", "wte: 3%,", ["found '3%' (write the number without %)"]),
])
def test_a_percentage_or_grouped_thousands_says_how_to_write_it(old, new, fragments, tmp_path, capsys):
    _refused(tmp_path, _edit(old, new), fragments, capsys)


def test_a_branch_with_a_bad_p_is_not_also_said_to_lack_one(tmp_path, capsys):
    """The bad 'p' was cut so the other checks could run; the routing list then lacked it in one
    branch, which the file did not: that finding was the cut's, not the file's."""
    err = _refused(tmp_path, _edit("{to: done, p: 0.7}", "{to: done, p: 70%}"), ["found '70%'"], capsys)
    assert "every branch needs 'p'" not in err


@pytest.mark.parametrize("text, fragments", [
    ("  icu:\n    beds: 14.9\n    staff: {clinician: {wte: 1, clinical_hours_per_week: 22.5, cost_per_hour: 60}}\n",
     ["services.icu.beds: expected a whole number, found 14.9"]),
    ("  icu:\n    beds: 4\n    staff: [{clinician: {wte: 1, clinical_hours_per_week: 22.5, cost_per_hour: 60}}]\n",
     ["services.icu.staff: expected a mapping of keys"]),
])
def test_a_service_with_a_bad_value_is_not_also_said_to_lack_it(text, fragments, tmp_path, capsys):
    """A step using the service's beds or staff was told the service had none (the cut's doing)."""
    scenario = _edit("pathway:\n", text + "pathway:\n")
    scenario = _edit("    done: {kind: discharge}\n",
                     "    done: {kind: discharge}\n    ward: {kind: inpatient, service: icu, bed: true, "
                     "staff: [clinician], duration: 2 days, next: done}\n", scenario)
    err = _refused(tmp_path, scenario, fragments, capsys)
    assert "has no 'beds'" not in err and "staff role 'clinician' is not defined" not in err


def test_a_child_that_changes_the_time_unit_does_not_reread_its_bases_bare_times(tmp_path, capsys):
    """A base's ``horizon: 60`` meant 60 of its days; a child setting ``time_unit: hours`` read it as
    60 hours without a word (audit of 6 December 2026: a 240-minute stay became 240 hours)."""
    (tmp_path / "base.yaml").write_text(VALID)
    child = "extends: base.yaml\nscenario:\n  name: child\n  time_unit: hours\n"
    err = _refused(tmp_path, child, [f"{tmp_path / 'base.yaml'}:4: scenario.horizon: 60 was written without a "
                                     f"unit in {tmp_path / 'base.yaml'}, whose time unit is days",
                                     "sets scenario.time_unit: hours, so it would be read as 60 hours",
                                     "Write it with its unit (60 days)"], capsys, name="child")
    assert "scenario.warmup: 10 was written without a unit" in err
    (tmp_path / "base.yaml").write_text(VALID.replace("horizon: 60", "horizon: 60 days")
                                        .replace("warmup: 10", "warmup: 10 days"))
    (tmp_path / "child.yaml").write_text(child)
    assert main(["validate", str(tmp_path / "child.yaml")]) == 0   # every time with its unit: nothing re-read
