"""Flow conservation and Little's law over a finite observation window, from one run's records.

Little's law L = lambda W is a limit theorem; over a finite window [w, T] (warm-up to
horizon) it holds up to two boundary terms, which in a simulation are known exactly:

* patients already in the system at w (including a scenario's ``initial_state`` patients,
  who are there at time 0) count in L (time average of the number in the system over the
  window) but are not arrivals of the window;
* patients who arrived in the window but are still in the system at T have stays that
  the window cuts off.

With L = in_system_area / tau (tau = T - w, the engine's own running integral),
lambda = A / tau (A = arrivals in [w, T)), W = mean time in the system of those A
arrivals counted up to T (so a patient still in the system at T contributes T -
arrival), and S0 = the time that patients present at w spent in the system within the
window, the finite-window law is the identity

    L = lambda W + S0 / tau                                  (exact on every sample path)

It holds whether or not the scenario is in steady state, so it can be checked on every
shipped scenario, to rounding error. It compares two independent bookkeepings: the
engine's running integral of the number in the system (updated at arrivals, exits and
the warm-up) and the arrival and exit times in the patient records.
"""

from __future__ import annotations

import numpy as np

from icssim.model.records import RunRecords


def flow_problems(rec: RunRecords) -> list[str]:
    """Everything wrong with conservation of patients in ``rec`` (empty when all is well)."""
    P = rec.patients
    out = []
    if rec.arrivals != rec.exits + rec.in_system_end:
        out.append(f"arrivals {rec.arrivals} != exits {rec.exits} + in system at end {rec.in_system_end}")
    pid = np.sort(P["pid"])
    if len(pid) != rec.arrivals or not np.array_equal(pid, np.arange(rec.arrivals)):
        out.append(f"{len(pid)} patient records for {rec.arrivals} arrivals, or duplicated/missing ids")
    still = np.isnan(P["exit"])
    if still.sum() != rec.in_system_end:
        out.append(f"{still.sum()} records without an exit time, but in_system_end = {rec.in_system_end}")
    code = rec.outcomes.index("in_system")
    if (P["outcome"] == code).sum() != rec.in_system_end or np.any((P["outcome"] == code) != still):
        out.append("outcome 'in_system' does not match the records without an exit time")
    arrival, exit_ = P["arrival"], P["exit"][~still]
    # patients of a scenario's initial_state are in the system at time 0 and may have been
    # referred before it (negative arrival times); everyone else arrives in [0, horizon]
    initial = P.get("initial", np.zeros(len(arrival), dtype=bool))
    if np.any(arrival[~initial] < 0) or np.any(arrival > rec.horizon):
        out.append("arrival times outside [0, horizon] (other than initial-state patients)")
    if np.any(exit_ < arrival[~still]) or np.any(exit_ > rec.horizon):
        out.append("exit before arrival, or after the horizon")
    # the sampled number in the system must equal arrivals so far minus exits so far
    t = rec.timeseries["time"]
    counted = (np.searchsorted(np.sort(arrival), t, side="right")
               - np.searchsorted(np.sort(exit_), t, side="right"))
    bad = np.flatnonzero(counted != rec.timeseries["in_system"])
    if len(bad):
        i = bad[0]
        out.append(f"{len(bad)} sampled in_system values disagree with the records, first at t={t[i]}: "
                   f"sampled {rec.timeseries['in_system'][i]}, records {counted[i]}")
    return out


def window_little(rec: RunRecords) -> dict[str, float]:
    """The terms of Little's law over the observation window (time in the scenario's unit)."""
    P = rec.patients
    w, T, tau = rec.warmup, rec.horizon, rec.window
    arrival = P["arrival"]
    exit_ = np.where(np.isnan(P["exit"]), T, P["exit"])  # still in the system: cut off at T
    new = arrival >= w
    before = ~new & (exit_ > w)
    s0 = float((exit_[before] - w).sum())
    stays = exit_[new] - arrival[new]
    done = ~np.isnan(P["exit"][new])
    L = rec.in_system_area / tau
    lam = new.sum() / tau
    W = float(stays.mean()) if len(stays) else 0.0
    rhs = lam * W + s0 / tau
    return {
        "L": L,
        "lambda": lam,
        "W": W,
        "S0_over_tau": s0 / tau,
        "lambda_W_plus_S0": rhs,
        "residual": L - rhs,
        "present_at_warmup": int(before.sum()),
        "still_in_system_share": float((~done).mean()) if len(done) else 0.0,
        # the naive estimate: mean stay of the arrivals who left by T, ignoring both boundaries
        "W_completed": float(stays[done].mean()) if done.any() else np.nan,
        "naive_gap": (L - lam * float(stays[done].mean())) / L if done.any() and L > 0 else np.nan,
    }
