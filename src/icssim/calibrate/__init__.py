"""``icssim calibrate``: fit a scenario's free parameters to published targets with ABC-SMC.

A calibration file (``docs/calibration.md``) names the scenario, the free parameters (key paths, as
in sweep files) with their priors, and the targets (a KPI or a measure of
:mod:`icssim.calibrate.measures`, the published value, its uncertainty and its source). The
simulations run on the executor protocol (:mod:`icssim.executors`), each kept in a SQLite store as it
finishes, so an interrupted calibration resumes; the outputs are the posterior as PSA input, fit and
pairwise plots, and a report.

    from icssim.calibrate.runner import calibrate
    run = calibrate("scenarios/calibration/ed_fragmented.yaml", workers=2)
"""
