"""Plausibility warnings (:mod:`icssim.scenario.plausibility`): a value no English ICS could have
(a WTE of 1e9, £5m a contact, a 300-year wait) is said, with its file, line and key, by
``icssim validate`` and ``icssim run`` on stderr, never refused (the exit status is unchanged);
and no scenario shipped in ``scenarios/`` (sweep points, national areas and calibration priors'
ends included) gives one."""

from __future__ import annotations

import copy
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest
from helpers import SCENARIOS, set_key

from icssim.cli import main
from icssim.file_checks import file_kind
from icssim.scenario import load_scenario, provenance, scenario_from_dict
from icssim.scenario.plausibility import LIMITS, MAX_REFERRALS_PER_YEAR, MAX_YEARS, findings, warnings

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "report_pathway.yaml"
DOC = Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md"
WTE = "services.ed_team.staff.clinician.wte"


def _edited(**changes) -> dict:
    """The fixture's data with ``changes`` (dotted key path, double underscores for dots) made."""
    raw = copy.deepcopy(provenance(load_scenario(FIXTURE)).raw)
    for key, value in changes.items():
        set_key(raw, key.split("__"), value)
    return raw


def _keys(raw: dict) -> dict[str, str]:
    return {".".join(map(str, path)): message for path, message in findings(scenario_from_dict(raw))}


def test_values_no_ics_could_have_are_found_by_kind():
    assert _keys(_edited()) == {}
    found = _keys(_edited(services__ed_team__staff__clinician__wte=1e9,
                          services__ed_team__staff__clinician__cost_per_hour=5_000,
                          scenario__population=20_000_000, pathway__steps__treat__sessions__count=5_000))
    assert set(found) == {WTE, "services.ed_team.staff.clinician.cost_per_hour", "scenario.population",
                          "pathway.steps.treat.sessions.count"}
    assert found["pathway.steps.treat.sessions.count"].startswith("5,000 sessions is more than")
    assert found[WTE].startswith("1,000,000,000 WTE is more than any English ICS could have")
    assert "at most 5,000 WTE" in found[WTE]
    # a time read in the scenario's unit (days) or with its own, beyond 50 years
    raw = _edited(scenario__warmup=20_000, scenario__horizon="60 years")
    assert set(_keys(raw)) == {"scenario.warmup", "scenario.horizon"}
    assert "20,000 days (about 54.8 years) is longer" in _keys(raw)["scenario.warmup"]
    # an attribute's distribution is in the attribute's own unit, not a time
    assert _keys(_edited(cohorts__cyp__attributes__age__high=30_000)) == {}
    # the largest plausible value is plausible; just above it is not
    assert _keys(_edited(services__ed_team__staff__clinician__wte=LIMITS["WTE"].high)) == {}
    assert set(_keys(_edited(services__ed_team__staff__clinician__wte=LIMITS["WTE"].high + 1))) == {WTE}
    assert _keys(_edited(scenario__horizon=f"{MAX_YEARS} years")) == {}


def test_a_time_inside_a_distribution_is_named_by_the_key_the_file_wrote():
    raw = _edited()
    step, spec = next((k, v) for k, v in raw["pathway"]["steps"].items() if isinstance(v.get("duration"), str))
    spec["duration"] = "300 years"
    assert set(_keys(raw)) == {f"pathway.steps.{step}.duration"}   # not ...duration.value


def _sweep_scenarios(path: Path):
    """Each scenario a sweep file runs that could hold an extreme value: the first point of each base
    and area, and the points where each parameter takes its lowest and highest value (a national
    file split per base, as ``python -m icssim.national run`` splits it)."""
    from icssim.sweep.design import design_points
    from icssim.sweep.spec import load_sweep

    try:
        files = [path]
        points = design_points(load_sweep(path))
    except Exception:   # a national file: one sweep per base
        from icssim.national import split_sweep

        files = list(split_sweep(path, Path(tempfile.mkdtemp(prefix="icssim-test-"))).values())
        points = None
    for file in files:
        points = points if points is not None else design_points(load_sweep(file))
        chosen = {}
        for p in points:
            chosen.setdefault((p.base, p.area), p)
        by_key = defaultdict(list)
        for p in points:
            for key, value in p.values.items():
                if isinstance(value, (int, float)):
                    by_key[(p.base, key)].append((value, p.index, p))
        for values in by_key.values():
            for _, _, p in (min(values, key=lambda t: t[:2]), max(values, key=lambda t: t[:2])):
                chosen.setdefault(("extreme", p.index), p)
        for p in chosen.values():
            yield f"{file}: {p.describe()}", scenario_from_dict(p.raw, name=str(file))
        points = None


def _calibration_scenarios(path: Path):
    """The calibration's scenario at both ends of every prior, as ``load_calibration`` checks it."""
    from icssim.calibrate.priors import support
    from icssim.calibrate.spec import end_raw, load_calibration

    cal = load_calibration(path)
    for key, prior in cal.spec.parameters.items():
        for end in support(prior):
            yield f"{path}: {key} = {end:g}", scenario_from_dict(end_raw(cal, key, end), name=str(cal.scenario_file))


SHIPPED = sorted(SCENARIOS.glob("**/*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(SCENARIOS)) for p in SHIPPED])
def test_no_shipped_file_gives_a_warning(path):
    kind = file_kind(path)
    if kind == "scenario":
        checked = [(str(path), load_scenario(path))]
    elif kind == "sweep":
        checked = list(_sweep_scenarios(path))
    else:
        checked = list(_calibration_scenarios(path))
    assert checked
    found = [f"{what}: {w}" for what, scenario in checked for w in warnings(scenario)]
    assert found == []


@pytest.fixture
def huge(tmp_path: Path) -> tuple[Path, int]:
    """The small fixture scenario with a clinician WTE of 1e9, and that value's line; beside it
    ``child.yaml``, which extends it with a horizon of 80 years on its line 4."""
    text = FIXTURE.read_text().replace("name: report_demo", "name: huge")
    assert "clinician: {wte: 2," in text
    path = tmp_path / "huge.yaml"
    path.write_text(text.replace("clinician: {wte: 2,", "clinician: {wte: 1e9,"))
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "wte: 1e9" in t)
    (tmp_path / "child.yaml").write_text("extends: huge.yaml\nscenario:\n  name: child\n  horizon: 80 years\n")
    return path, line


def _warning_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("icssim: warning: ")]


def test_validate_warns_with_file_line_and_key_and_still_passes(huge, capsys):
    path, line = huge
    assert main(["validate", str(path), str(path.with_name("child.yaml"))]) == 0
    out, err = capsys.readouterr()
    assert f"{path}: ok" in out and "child.yaml: ok" in out
    lines = _warning_lines(err)
    assert f"icssim: warning: {path}:{line}: {WTE}: 1,000,000,000 WTE is more than" in lines[0]
    # a file that extends another: the base's value at the base's line, the child's at its own
    child = path.with_name("child.yaml")
    assert any(f"{path}:{line}: {WTE}:" in x for x in lines[1:])
    assert any(x.startswith(f"icssim: warning: {child}:4: scenario.horizon: 80 years is longer") for x in lines)
    assert len(lines) == 3


def test_run_warns_and_runs(huge, capsys, tmp_path):
    path, line = huge
    out = tmp_path / "out"
    assert main(["run", str(path), "-n", "1", "-w", "1", "--out", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    lines = _warning_lines(err)
    assert len(lines) == 1 and lines[0].startswith(f"icssim: warning: {path}:{line}: {WTE}: 1,000,000,000 WTE")
    assert (out / "kpis.csv").is_file()


def test_compare_warns_for_each_scenario_that_has_one(huge, capsys, tmp_path):
    path, line = huge
    out = tmp_path / "cmp"
    assert main(["compare", str(FIXTURE), str(path), "-n", "2", "-w", "1", "--out", str(out), "-q"]) == 0
    lines = _warning_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith(f"icssim: warning: {path}:{line}: {WTE}: 1,000,000,000 WTE")
    assert (out / "differences.csv").is_file()


def test_sweep_and_calibration_files_are_not_scenarios(capsys):
    assert main(["validate", str(SCENARIOS / "sweeps" / "ed_cyp_capacity.yaml")]) == 0
    assert _warning_lines(capsys.readouterr().err) == []


def test_the_docs_list_the_ranges_as_they_are():
    section = DOC.read_text(encoding="utf-8").split("### 13.1")[1].split("## 14.")[0]
    for limit in LIMITS.values():
        assert f"{limit.high:,.0f}" in section, limit
    assert f"{MAX_YEARS} years" in section and f"{MAX_REFERRALS_PER_YEAR:,} referrals a year" in section


@pytest.mark.parametrize("profile, words", [
    ([2.0] * 6 + [4.0] * 6 + [6.0] * 6 + [4.0 + 2 / 3] * 6, "average 4.17, so this cohort's demand is 4.17 × its rate"
     " on average (they sum to 100: percentages of the total?"),
    ([1 / 24] * 24, "average 0.0417, so this cohort's demand is 0.0417 × its rate on average (they sum to 1: shares"),
    ([1.5] * 24, "average 1.5, so this cohort's demand is 1.5 × its rate on average (multipliers"),
])
def test_a_demand_profile_that_does_not_average_1_is_said(profile, words):
    """The hourly multipliers of urgent_mh_fragmented typed as the percentages its own comment lists
    (2.0% an hour 00-05 ...) ran four times the demand with no word (audit of 6 December 2026)."""
    scenario = load_scenario(SCENARIOS / "urgent_mh_fragmented.yaml")
    raw = copy.deepcopy(provenance(scenario).raw)
    raw["cohorts"]["physical"]["demand"]["hourly"] = profile
    found = dict(findings(scenario_from_dict(raw, name="percent")))
    assert words in found[("cohorts", "physical", "demand", "hourly")]
    assert list(found) == [("cohorts", "physical", "demand", "hourly")]


def test_an_interval_no_route_leads_through_is_warned():
    """A path time or interval standard from a step to one no route leads to from it (back up
    the pathway) would report negative times: warned at its 'to', and not for the shipped pairs."""
    s = load_scenario(SCENARIOS / "urgent_mh_fragmented.yaml")
    assert not [f for f in findings(s) if f[0][:2] == ("scenario", "path_times")]
    raw = copy.deepcopy(provenance(s).raw)
    raw["scenario"]["path_times"]["mh_referral"].update({"from": "psychiatric_assessment", "to": "triage.end"})
    raw["scenario"]["standards"]["liaison_1_hour"].update({"from": "psychiatric_assessment.end",
                                                          "to": "refer_psychiatry"})
    back = scenario_from_dict(raw)
    said = {path: message for path, message in findings(back)}
    assert "no route of the pathway leads from 'psychiatric_assessment' to 'triage'" in said[
        ("scenario", "path_times", "mh_referral", "to")]
    standard = ("scenario", "standards", "liaison_1_hour", "to")
    assert "from 'psychiatric_assessment' to 'refer_psychiatry'" in said[standard]
