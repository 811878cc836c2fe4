"""Health and value-for-money KPIs, registered in the KPI registry (:mod:`icssim.kpis`).

Each is measured on the people who asked for help in the observation window, over the scenario's
follow-up (``health.follow_up``) from the day each asked. A scenario without a ``health:`` block
gets none of them.
"""

from __future__ import annotations

import numpy as np

from icssim.health.outcomes import Outcomes, discount_factor
from icssim.kpi_base import bucket_spans, establishments
from icssim.kpis import DAYS_PER_YEAR, Family, Kpi, KpiInfo, Window, register
from icssim.model.records import RunRecords
from icssim.scenario.health import DECLARED_LABELS

#: years after asking for help at which the share in remission is reported (within the follow-up)
REMISSION_YEARS = (1, 2, 5, 10)


def _outcomes(w: Window) -> Outcomes | None:
    return w.rec.health


HEALTH, MONEY = "Health outcomes", "Value for money"


class HealthKpi(Kpi):
    """A KPI of the course of illness: a mean over the window's help-seekers of ``per_person``."""
    needs_outcomes = True

    scale = 1.0
    group = HEALTH

    def compute(self, w: Window) -> dict[str, float]:
        out = _outcomes(w)
        if out is None:
            return {}
        values = self.per_person(w, out)[w.in_window]
        return {self.name: float(values.mean()) * self.scale if len(values) else float("nan")}

    def per_person(self, w: Window, out: Outcomes) -> np.ndarray:
        raise NotImplementedError


class Qalys(HealthKpi):
    name, unit, better = "qalys_per_person", "QALYs", "higher"
    label = "QALYs per help-seeker over the follow-up (discounted)"

    def per_person(self, w: Window, out: Outcomes) -> np.ndarray:
        return out.qalys


class LifeYears(HealthKpi):
    name, unit, better = "life_years_per_person", "years", "higher"
    label = "Life-years per help-seeker over the follow-up"

    def per_person(self, w: Window, out: Outcomes) -> np.ndarray:
        return out.life_years


class Deaths(HealthKpi):
    name, unit, scale = "deaths_per_1000", "per 1,000 help-seekers", 1000.0
    label = "Deaths over the follow-up"

    def per_person(self, w: Window, out: Outcomes) -> np.ndarray:
        return (~np.isnan(out.died)).astype(float)


class Relapses(HealthKpi):
    name, unit = "relapses_per_person", "relapses"
    label = "Relapses per help-seeker over the follow-up"

    def per_person(self, w: Window, out: Outcomes) -> np.ndarray:
        return out.relapses.astype(float)


class SentBack(Kpi):
    """Of the help-seekers, the share whose course sent them back into the pathway at least once
    (``health.returns``, e.g. re-referral after a relapse); only for plans with return rules."""
    needs_outcomes = True

    name, unit, better, group = "sent_back_share", "share", "neutral", HEALTH
    label = "Sent back into the pathway by their course of illness (re-referred at least once)"

    def compute(self, w: Window) -> dict[str, float]:
        out = _outcomes(w)
        if out is None or out.returns is None or not out.return_rules:
            return {}
        back = out.returns[w.in_window] > 0
        return {self.name: float(back.mean()) if len(back) else float("nan")}


class UntreatedDuration(Kpi):
    needs_outcomes = True
    name, unit, group = "dui_mean_months", "months", HEALTH
    label = "Duration of untreated illness at the start of treatment, mean"

    def compute(self, w: Window) -> dict[str, float]:
        out = _outcomes(w)
        if out is None:
            return {}
        dui = out.dui[w.in_window]
        dui = dui[~np.isnan(dui)]
        return {self.name: float(dui.mean() * 12) if len(dui) else float("nan")}


class InRemission(Family):
    """Share of the living in remission ``k`` whole years after asking for help."""
    needs_outcomes = True

    prefix, family, unit, better, group = "in_remission_", "years", "share", "higher", HEALTH
    label = "In remission {} after asking for help (of those alive)"

    def info(self, name: str) -> KpiInfo:
        years = name[len(self.prefix):].removesuffix("y")
        words = f"{years} year" + ("" if years == "1" else "s")
        return KpiInfo(self.label.format(words), self.unit, self.better, self.family, years, self.group)

    def compute(self, w: Window) -> dict[str, float]:
        out = _outcomes(w)
        if out is None:
            return {}
        states = out.state_at[w.in_window & self.who(out)]
        dead = len(out.remission) - 1
        result = {}
        for k in REMISSION_YEARS:
            if k >= states.shape[1]:
                continue
            alive = states[:, k] != dead
            share = out.remission[states[alive, k]].mean() if alive.any() else float("nan")
            result[f"{self.prefix}{k}y"] = float(share)
        return result

    def who(self, out: Outcomes) -> np.ndarray | bool:
        """Whom the share is of (besides being a help-seeker in the window)."""
        return True


class TreatedInRemission(InRemission):
    """As :class:`InRemission`, of those whom the pathway started treating: the people the clinical
    follow-up studies (e.g. Solmi 2024's pooled recovery) follow, to compare like with like."""
    prefix = "treated_in_remission_"
    label = "In remission {} after asking for help, of those who started treatment (alive)"

    def who(self, out: Outcomes) -> np.ndarray | bool:
        return ~np.isnan(out.dui)


class HealthEvents(Family):
    """Expected number of each health event (``health.events``) per 1,000 help-seekers over the
    follow-up: what happens to people's physical health in or out of the pathway."""
    needs_outcomes = True

    prefix, family, unit, group = "health_events_", "event", "per 1,000 help-seekers", HEALTH
    label = "{}"

    def info(self, name: str) -> KpiInfo:
        event = name[len(self.prefix):]
        label = DECLARED_LABELS.get(name, f"Health events over the follow-up: {event.replace('_', ' ')}")
        return KpiInfo(label, self.unit, "lower", self.family, event, self.group)

    def compute(self, w: Window) -> dict[str, float]:
        out = _outcomes(w)
        if out is None or not len(out.event_names):
            return {}
        per_person = out.events[w.in_window]
        return {f"health_events_{name}": float(per_person[:, i].mean() * 1000) if len(per_person) else float("nan")
                for i, name in enumerate(out.event_names)}


class ExitMeasures(Family):
    """The domain's own measures, declared in ``health.measures``: of the window's people whose
    pathway ended with an outcome, the share in given health states when they left it (e.g.
    recovery and reliable improvement of those who completed a course)."""
    needs_outcomes = True

    prefix, family, unit, better, group = "share_at_exit_", "measure", "share", "higher", HEALTH
    label = "{}"

    def info(self, name: str) -> KpiInfo:
        subject = name[len(self.prefix):]
        label = DECLARED_LABELS.get(name, f"Share at the end of the pathway: {subject.replace('_', ' ')}")
        return KpiInfo(label, self.unit, self.better, self.family, subject, self.group)

    def compute(self, w: Window) -> dict[str, float]:
        out = _outcomes(w)
        if out is None or out.state_at_leave is None or not out.measures:
            return {}
        result = {}
        for name, _label, outcome, states, _target in out.measures:
            code = w.rec.outcomes.index(outcome) if outcome in w.rec.outcomes else -1
            mine = w.in_window & (w.patients["outcome"] == code)
            at = out.state_at_leave[mine]
            result[f"share_at_exit_{name}"] = float(np.isin(at, states).mean()) if len(at) else float("nan")
        return result


class ServiceContacts(Family):
    """Care in a second service alongside the pathway (``health.events`` with a ``service``): its
    contacts per 1,000 help-seekers while they were in the pathway (the contacts over the whole
    follow-up are ``health_events_<event>``)."""
    needs_outcomes = True

    prefix, family, unit, better, group = "contacts_in_pathway_", "event", "per 1,000 help-seekers", "neutral", HEALTH
    label = "{}"

    def info(self, name: str) -> KpiInfo:
        event = name[len(self.prefix):]
        label = DECLARED_LABELS.get(name, f"{event.replace('_', ' ')} while in the pathway")
        return KpiInfo(label, self.unit, self.better, self.family, event, self.group)

    def compute(self, w: Window) -> dict[str, float]:
        out = _outcomes(w)
        services = out.event_services if out is not None else ()
        if out is None or out.events_in_pathway is None or not any(services):
            return {}
        per_person = out.events_in_pathway[w.in_window]
        return {f"contacts_in_pathway_{name}": float(per_person[:, i].mean() * 1000) if len(per_person)
                else float("nan") for i, name in enumerate(out.event_names) if services[i] is not None}


class SecondServiceCost(Family):
    """What the contacts of each second service cost per help-seeker over the follow-up
    (discounted; part of ``cost_per_person``)."""
    needs_outcomes = True

    prefix, family, unit, group = "follow_up_cost_", "service", "GBP", MONEY
    label = "Cost per help-seeker of {} contacts over the follow-up (discounted)"

    def compute(self, w: Window) -> dict[str, float]:
        out = _outcomes(w)
        services = out.event_services if out is not None else ()
        if out is None or out.event_cost_by_event is None or not any(services):
            return {}
        costs = out.event_cost_by_event[w.in_window]
        result: dict[str, float] = {}
        for i, service in enumerate(services):
            if service is not None:
                key = f"follow_up_cost_{service}"
                result[key] = result.get(key, 0.0) + (float(costs[:, i].mean()) if len(costs) else float("nan"))
        return result


class EventPayerCost(Family):
    """What the health events each payer pays for (an event's own ``payer``, else its service's)
    cost per help-seeker over the follow-up (discounted): the events' part of ``cost_per_person``
    split by who pays, for the payers some event names. The health states' own costs
    (``cost_per_year``) name no payer and are not split."""
    needs_outcomes = True

    prefix, family, unit, group = "event_cost_to_", "payer", "GBP", MONEY

    def info(self, name: str) -> KpiInfo:
        payer = name[len(self.prefix):]
        label = f"Cost to {PAYERS.get(payer, payer)} per help-seeker of health events over the follow-up (discounted)"
        return KpiInfo(label, self.unit, self.better, self.family, payer, self.group)

    def compute(self, w: Window) -> dict[str, float]:
        out = _outcomes(w)
        if out is None or out.event_cost_by_event is None or not out.event_payers:
            return {}
        costs = event_costs_by_payer(out.event_cost_by_event[w.in_window], out.event_payers)
        return {f"{self.prefix}{payer}": float(cost.mean()) if len(cost) else float("nan")
                for payer, cost in costs.items()}


def event_costs_by_payer(costs: np.ndarray, payers: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Each person's discounted cost of the health events each payer pays for, by payer in the
    order the events first name them; ``costs`` is [person, event] and ``payers`` [event]. Every
    event has exactly one payer, so the parts add up to each person's event cost."""
    return {payer: costs[:, [i for i, p in enumerate(payers) if p == payer]].sum(axis=1)
            for payer in dict.fromkeys(payers)}


class CostPerPerson(Kpi):
    """The pathway's cost per help-seeker and the cost of their health states over the follow-up
    (discounted): an equal share of the staff establishment over the window, and of the contacts,
    bed-days and monitoring at the services without one (see :func:`person_costs`)."""
    needs_outcomes = True

    name, unit, group = "cost_per_person", "GBP", MONEY
    label = "Cost per help-seeker (pathway and course of illness, discounted)"

    def compute(self, w: Window) -> dict[str, float]:
        out = _outcomes(w)
        if out is None:
            return {}
        return {self.name: float(person_costs(w, out).mean()) if w.in_window.any() else float("nan")}


def person_costs(w: Window, out: Outcomes) -> np.ndarray:
    """Each window help-seeker's discounted cost (see :class:`CostPerPerson`). Each service is
    costed once: one whose staff the scenario costs as an establishment (wte x cost per hour x paid
    hours) by that establishment, shared equally; any other by the unit costs of what was used there
    (:func:`activity_per_person`). A contact's unit cost (e.g. the National Cost Collection's) prices
    the same staff time as the establishment, so adding both would count the team twice. The
    pathway's costs are discounted to the day each person asked for help from the midpoint of
    their time in the pathway (:func:`pathway_discount`)."""
    rec = w.rec
    mine = int(w.in_window.sum())
    factor = pathway_discount(w, out.discount_costs)
    staff = sum(r.cost_per_year for r in rec.resources) * w.years / max(mine, 1)
    return activity_per_person(w, factor) + staff * factor + out.state_costs[w.in_window]


def pathway_discount(w: Window, rate: float) -> np.ndarray:
    """Each window help-seeker's discount factor for what the pathway spends on them, taken at the
    midpoint of their time in it (to the run's end for those still in it)."""
    P, rec = w.patients, w.rec
    leave = np.where(np.isnan(P["exit"]), rec.horizon, P["exit"])
    return discount_factor(rate, ((leave - P["arrival"]) / 2 * w.days / DAYS_PER_YEAR)[w.in_window])


def activity_per_person(w: Window, factor: np.ndarray) -> np.ndarray:
    """Each window help-seeker's discounted cost at the services costed by their activity
    (``factor``: each one's discount factor, :func:`pathway_discount`).

    A run with a warm-up observes a steady state, and the run stops while the window's last
    arrivals are still in the pathway: their own bookings miss the rest of their journey (on the ED
    scenarios, about £3,700 a person of bed and day care). So there each person is given an equal
    share of the activity booked in the window, by whoever booked it: in a steady state the cost
    incurred per unit of time, over the arrivals per unit of time, is the expected cost of one
    person's whole journey (the renewal-reward theorem), and the warm-up's people stand in for the
    window's cut-off tails. A run without a warm-up (a projection from today's waiting list) is no
    steady state, and each person keeps their own bookings. The window's share is discounted by the
    mean factor over the costs people booked.
    """
    rec = w.rec
    own = own_bookings(w)
    if rec.warmup <= 0 or not len(own):
        return own * factor
    mean_factor = float((own * factor).sum() / own.sum()) if own.sum() > 0 else 1.0
    charged = _charged(rec)
    in_window = float(w.costs_once[:, charged].sum()) if charged else 0.0
    return np.full(len(own), in_window / len(own) * mean_factor)


def own_bookings(w: Window) -> np.ndarray:
    """Each window help-seeker's own bookings (undiscounted, as the engine charged them to them) at
    the services costed by their activity; a run with a warm-up stops before the window's last
    arrivals finish, so theirs are cut short (:func:`activity_per_person`)."""
    parts = own_bookings_by_service(w)
    return np.sum(list(parts.values()), axis=0) if parts else np.zeros(int(w.in_window.sum()))


def own_bookings_by_service(w: Window) -> dict[str, np.ndarray]:
    """:func:`own_bookings`, service by service (those costed by their activity, by name)."""
    P, rec, mine = w.patients, w.rec, w.in_window
    return {rec.services[i]: P[f"cost_{rec.services[i]}"][mine] for i in _charged(rec)}


def _charged(rec: RunRecords) -> list[int]:
    """The services costed by their activity, not by an establishment (by index)."""
    return [i for i, name in enumerate(rec.services) if name not in establishments(rec)]


#: Who pays, in words (ed-outcomes.md section 4.1); other payer names are shown as written.
PAYERS = {"icb": "the ICB", "specialised_commissioning": "specialised commissioning (NHS England or a provider "
          "collaborative)", "local_authority": "the local authority"}
BUDGET_YEARS = 5


class PayerCosts(Family):
    """Undiscounted cost to each payer (every service's ``payer``) in each of the window's first
    years (a budget-impact view), and per year over the whole window; each service counted once,
    as in :func:`person_costs` (:attr:`Window.costs_once`)."""

    prefix, family, unit, group = "cost_to_", "payer", "GBP", MONEY

    def info(self, name: str) -> KpiInfo:
        payer, _, year = name[len(self.prefix):].partition("_year_")
        who = PAYERS.get(payer, payer)
        if year == "all":
            return KpiInfo(f"Cost to {who}, per year of the window", "GBP per year", "lower", self.family, payer,
                           self.group)
        return KpiInfo(f"Cost to {who} in year {year} of the window (undiscounted)", "GBP", "lower",
                       self.family, payer, self.group)

    def compute(self, w: Window) -> dict[str, float]:
        payers = w.rec.payers
        if not payers:
            return {}
        costs = w.costs_once  # [bucket, service]
        years = range(1, min(BUDGET_YEARS, int(w.years + 1e-9)) + 1)
        shares = year_shares(w, len(costs), len(years))  # [year, bucket]
        out = {}
        for payer in dict.fromkeys(payers):
            mine = costs[:, [i for i, p in enumerate(payers) if p == payer]].sum(axis=1)
            out[f"cost_to_{payer}_year_all"] = float(mine.sum() / w.years)
            for year in years:
                out[f"cost_to_{payer}_year_{year}"] = float(shares[year - 1] @ mine)
        return out


def year_shares(w: Window, n_buckets: int, n_years: int) -> np.ndarray:
    """[year, bucket]: the share of each of the window's cost buckets (the first cut at the warm-up's
    end) that falls in each of its first ``n_years`` years of 365.25 days, a bucket's cost taken as
    spread evenly over it. Whole buckets would make a year 52 or 53 weeks long."""
    rec = w.rec
    starts, ends = bucket_spans(rec, int(rec.warmup / rec.sample_every), n_buckets, rec.warmup)
    length = np.maximum(ends - starts, 1e-12)
    year = DAYS_PER_YEAR / w.days  # in the run's time unit
    shares = np.zeros((n_years, n_buckets))
    for k in range(n_years):
        lo, hi = rec.warmup + k * year, rec.warmup + (k + 1) * year
        shares[k] = np.clip(np.minimum(ends, hi) - np.maximum(starts, lo), 0.0, None) / length
    return shares


HEALTH_KPIS = (Qalys(), LifeYears(), Deaths(), Relapses(), SentBack(), InRemission(), TreatedInRemission(),
               UntreatedDuration(), HealthEvents(), ServiceContacts(), ExitMeasures(), SecondServiceCost(),
               EventPayerCost(), CostPerPerson(), PayerCosts())
for _kpi in HEALTH_KPIS:
    register(_kpi)
