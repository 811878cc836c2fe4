"""The model of a run in STRESS-DES terms (Monks et al. 2019): objectives, logic, data,
experimentation, implementation and code access, for the run and comparison reports."""

from __future__ import annotations

from html import escape

import pandas as pd

from icssim.kinds import KINDS
from icssim.kpis import DAYS_PER_YEAR
from icssim.report.health_model import health_model_html
from icssim.report.model_text import cohort_rows, in_days, queue_words, resource_rows, step_rows
from icssim.report.parameters import source_counts, stored_parameters
from icssim.report.pieces import RunData, replications_and_precision, table_html, ul_html
from icssim.report.run_text import standard_words
from icssim.report.terminating import period_word, replications_text
from icssim.scenario.schema import Scenario
from icssim.units import span_text



def arrival_rates(s: Scenario) -> str:
    """How the cohorts' arrival rates behave over the run, in a sentence: constant, or following a
    cohort's ``demand`` (growth, seasonality, step changes, an hourly profile); and when arrivals stop."""
    varying = [c.label or name for name, c in s.cohorts.items() if c.demand is not None]
    if varying:
        text = (f"the rate of {', '.join(varying)} follows the scenario's demand (growth, seasonality, step "
                f"changes or an hour-of-day profile, as given), the others' is constant.")
        if len(varying) == len(s.cohorts):
            text = ("each rate follows the scenario's demand (growth, seasonality, step changes or an "
                    "hour-of-day profile, as given).")
    else:
        text = "each at a constant rate: no seasonality, trends or growth in demand over the run."
    if s.scenario.arrivals_until is not None:
        text += f" No one arrives after {s.scenario.arrivals_until}."
    return text

def model_html(data: RunData) -> str:
    """The model described after the STRESS-DES checklist: objectives, logic, data, experimentation,
    implementation and code access."""
    s, meta = data.scenario, data.meta
    if s is None:
        return f"<p>The scenario could not be read back ({escape(data.scenario_error)}).</p>"
    objectives = _objectives_html(s)
    logic = _logic_html(s)
    data_txt = _data_html(data, s.scenario.time_unit)
    exp_html = _experimentation_html(s, meta)
    impl_html = _implementation_html(s, meta)
    return ("<p class=note>Structured after the STRESS-DES checklist for reporting discrete-event "
            "simulation studies (Monks et al. 2019).</p>"
            "<h3>1. Objectives</h3>" + objectives +
            "<h3>2. Model logic</h3>" + logic +
            "<h3>3. Data</h3>" + data_txt +
            "<h3>4. Experimentation</h3>" + exp_html +
            "<h3>5. Implementation</h3>" + impl_html +
            "<h3>6. Code access</h3><p>icssim is open source; the exact scenario is stored with these "
            "results (scenario.json, parameters.csv) and identified by its hash in "
            "<a href=\"#reproduce\">How to reproduce</a>.</p>")


def _objectives_html(s: Scenario) -> str:
    info = s.scenario
    # each standard in its own words (its label, else whom it covers, by the cohorts' labels, and what
    # it measures), its target, and its key
    std_items = [f"{escape(standard_words(st, s))} (target {st.target:.0%}; <code>{escape(n)}</code>)"
                 for n, st in info.standards.items()]
    objectives = (f"<p>{escape(info.description) + ' ' if info.description else ''}The model estimates, "
                  f"for this configuration of the pathway, how long patients wait from referral to assessment "
                  f"and treatment, how many meet the waiting-time standards, how many are rejected, drop out "
                  f"or reach emergency care, how busy each resource is, and what it all costs per year"
                  + (", and, over each person's course of illness from the day they ask for help, remission, "
                     "relapse, deaths, life-years, QALYs and costs by payer" if s.health is not None else "")
                  + ".</p>")
    if std_items:
        objectives += "<p>Standards measured:</p>" + ul_html(std_items)
    return objectives


def _logic_html(s: Scenario) -> str:
    entities = table_html(pd.DataFrame(cohort_rows(s)), numeric=("Referrals a year",))
    steps = table_html(pd.DataFrame(step_rows(s)))
    resources = table_html(pd.DataFrame(resource_rows(s))) if s.services else "<p>No services.</p>"
    queues: dict[str, list[str]] = {}
    for n, st in s.pathway.steps.items():
        if st.staff or st.caseload or st.bed:
            queues.setdefault(st.queue, []).append(n)
    det = _deterioration_html(s)
    exits = sorted({st.outcome or n for n, st in s.pathway.steps.items() if KINDS[st.kind].is_exit})
    logic = (
        "<h3>2.1 Patients (entities) and cohorts</h3>"
        f"<p>Patients arrive as independent Poisson streams, one per cohort; {escape(arrival_rates(s))} Each "
        "patient draws its attributes at arrival.</p>" + entities +
        "<h3>2.2 Activities and steps</h3><p>A patient joins a step's queue, waits for every resource "
        "the step uses, is served, then follows the step's routing. Staff time is a number of "
        "servers (WTE rounded up); part-time clinical hours stretch each contact in calendar time.</p>"
        + steps +
        "<h3>2.3 Resources</h3>" + resources +
        "<h3>2.4 Queue disciplines</h3>" + ul_html([f"<strong>{escape(q)}</strong> ({escape(', '.join(ns))}): "
                                                f"{escape(queue_words(q))}" for q, ns in queues.items()] or
                                               ["no step queues for a resource"]) +
        "<h3>2.5 Routing, entry and exit</h3><p>Routing is drawn in the pathway diagram above and listed "
        "per step in 2.2. Patients enter at " + escape(", ".join(sorted({c.entry for c in s.cohorts.values()})))
        + " and leave through the discharge steps (" + escape(", ".join(exits)) + "), by dropping out, or "
        "by discharge after missed appointments.</p>" + det + health_model_html(s))
    return logic


def _deterioration_html(s: Scenario) -> str:
    det = ""
    if s.deterioration is not None:
        d = s.deterioration
        hz = ", ".join(f"{lvl} {r}" for lvl, r in d.hazard.items())
        det = (f"<p><strong>Deterioration.</strong> While waiting, a patient's {escape(d.attribute)} rises one "
               f"level at a time (hazard: {escape(hz)}).")
        if d.urgent_from:
            det += f" From {escape(d.urgent_from)} the referral becomes urgent."
        det += f" At {escape(d.emergency_at)} the patient goes to {escape(d.emergency_step)}"
        if d.detected_step and d.detection_probability > 0:
            det += (f", unless monitoring detects it first ({d.detection_probability:.0%}), in which case "
                    f"they go to {escape(d.detected_step)}")
        det += ".</p>"
    return det


def _data_html(data: RunData, unit: str) -> str:
    n_par = n_q = n_src = 0
    params = stored_parameters(data.folder, data.raw)
    if params is not None:
        n_par = len(params)
        n_q, n_src = source_counts(params)
    data_txt = (f"<p>All input values are in the <a href=\"#parameters\">parameter table</a>: {n_par} values, "
                f"{n_q} of them quantities taken from data, of which {n_src} cite a source in the scenario file "
                f"(the YAML comment on the value or on the block it belongs to). Times are in {escape(unit)} "
                f"unless a unit is given.</p>")
    return data_txt


def _experimentation_html(s: Scenario, meta: dict) -> str:
    info = s.scenario
    unit = info.time_unit
    window = (in_days(info.horizon, s) - in_days(info.warmup, s)) / DAYS_PER_YEAR
    reps = meta.get("replications", "?")
    exp_rows = [
        ("Initialisation", f"starts empty and idle; warm-up {span_text(info.warmup, unit)} "
                           f"(results from patients arriving after it)"),
        ("Run length", f"{span_text(info.horizon, unit)} in total; observation window {window:.3g} years"),
        ("Replications", replications_and_precision(meta)),
        ("Estimation", "mean across replications with a Student-t 95% confidence interval"),
        ("Time unit", unit),
    ]
    word = period_word(s)
    if word is not None and info.arrivals_until is not None:  # a terminating run: days, not a warm-up
        exp_rows[:4] = [
            ("Initialisation", f"each simulated {word} starts empty and idle (a terminating run)"),
            ("Run length", f"arrivals for {span_text(info.arrivals_until, unit)}, then on to "
                           f"{span_text(info.horizon, unit)} so that work in progress finishes"),
            ("Replications", replications_text(int(reps), s) if str(reps).isdigit() else str(reps)),
            ("Estimation", f"mean across the simulated {word}s with a Student-t 95% confidence interval"),
        ]
    exp_html = table_html(pd.DataFrame(exp_rows, columns=["Item", "Value"]))
    return exp_html


def _implementation_html(s: Scenario, meta: dict) -> str:
    info = s.scenario
    pk = meta.get("packages", {}) or {}
    impl_rows = [
        ("Software", f"icssim {meta.get('icssim_version', '?')} (Python {meta.get('python', '?')}), a "
                     f"discrete-event simulation on simpy"),
        ("Packages", ", ".join(f"{k} {v}" for k, v in pk.items())),
        ("Random numbers", f"seed {meta.get('seed', info.seed)}; one numpy PCG64 stream per source of "
                           f"randomness, seeded from (seed, replication, stream name), so scenarios run with "
                           f"the same seed share random numbers (common random numbers)"
                           + ("; each person's course of illness draws from a stream of their own, keyed to "
                              "(seed, replication, cohort, arrival number), so the same person lives the same "
                              "course in two scenarios until the pathways treat them differently"
                              if s.health is not None else "")),
        ("Platform", str(meta.get("platform", "?"))),
        ("Run time", _run_time(meta)),
    ]
    impl_html = table_html(pd.DataFrame(impl_rows, columns=["Item", "Value"]))
    return impl_html


def _run_time(meta: dict) -> str:
    parts = []
    if meta.get("simulation_seconds"):
        parts.append(f"{meta['simulation_seconds']:g} s of simulation summed over the replications")
    if meta.get("wall_seconds"):   # what the terminal calls the run's "simulation" time
        parts.append(f"{meta['wall_seconds']:g} s of wall clock while they ran")
    if isinstance(meta.get("events_simulated"), int):
        parts.append(f"{meta['events_simulated']:,} events")
    if meta.get("events_per_second"):
        parts.append(f"{meta['events_per_second']:,} events per second")
    return "; ".join(parts) or "not recorded"
