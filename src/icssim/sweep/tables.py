"""A finished sweep's tables: ``runs`` (tidy: point x replication x KPI, every KPI), ``summary``
(tidy: point x KPI with mean and confidence interval, the sweep's KPIs) and ``points`` (one row
per point: its settings and each KPI's mean and CI). Each file is written to a temporary name and
renamed into place, so a reader never sees half a file."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from icssim.experiments import summarise
from icssim.metrics import kpi_info
from icssim.tables import CsvWriter, write_csv

#: The KPI every summary keeps, whatever the sweep file asks for: how many waiting lists still
#: clearly rise through a run's window (kpi_definitions.RisingLists).
RISING = "waiting_lists_rising"


def point_frame(run) -> pd.DataFrame:
    """One row per point: base, area, population, role, varied and each parameter's value."""
    return pd.DataFrame([p.row() for p in run.points])


def tidy_runs(run, frame: pd.DataFrame | None = None, points: pd.DataFrame | None = None) -> pd.DataFrame:
    """Point x replication x KPI, long format, with each point's settings (``points``, by default
    :func:`point_frame`)."""
    frame = run.frame() if frame is None else frame
    if frame.empty:
        return pd.DataFrame(columns=["point", "replication", "seed", "kpi", "value"])
    ids = ["point", "replication", "seed"]
    kpis = [c for c in frame.columns if c not in (*ids, "wall_seconds", "worker")]
    long = frame.melt(id_vars=ids, value_vars=kpis, var_name="kpi", value_name="value")
    long = (point_frame(run) if points is None else points).merge(long, on="point", how="right")
    return long.sort_values(["point", "replication", "kpi"], kind="stable").reset_index(drop=True)


#: Runs whose rows of the runs table are built and written at once (about 80 rows of some 50
#: columns each): writing the table of a sweep of any size takes memory for one block.
RUNS_PER_BLOCK = 50


def write_runs(run, frame: pd.DataFrame, folder: Path, runs_per_block: int = RUNS_PER_BLOCK) -> None:
    """``runs.csv`` and ``runs.parquet``: :func:`tidy_runs`, built and written a block of whole
    points at a time, in the table's order (``frame`` holds one row per run)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    points = point_frame(run)
    text = _mixed_columns(points)
    types = pa.Schema.from_pandas(_as_text(points, text), preserve_index=False)
    csv_path, parquet_path = tmp_name(folder / "runs.csv"), tmp_name(folder / "runs.parquet")
    parquet = None
    try:
        try:
            with CsvWriter(csv_path) as csv:
                for part in _blocks(frame, runs_per_block):
                    block = tidy_runs(run, part, points)
                    csv.write(block)
                    table = pa.Table.from_pandas(_as_text(block, text), preserve_index=False)
                    if parquet is None:
                        schema = _with_types(table.schema, types)
                        parquet = pq.ParquetWriter(parquet_path, schema)
                    parquet.write_table(table.cast(schema))
        finally:
            if parquet is not None:
                parquet.close()
    except BaseException:  # (each file closed first: an open file cannot be removed everywhere)
        for path in (csv_path, parquet_path):
            path.unlink(missing_ok=True)
        raise
    os.replace(csv_path, folder / "runs.csv")
    os.replace(parquet_path, folder / "runs.parquet")


def _blocks(frame: pd.DataFrame, runs: int) -> Iterator[pd.DataFrame]:
    """``frame``'s rows by point and replication, in blocks of about ``runs`` rows that never split
    a point (one empty block for an empty frame)."""
    if frame.empty:
        yield frame
        return
    frame = frame.sort_values(["point", "replication"], kind="stable")
    point = frame["point"].to_numpy()
    start = 0
    while start < len(frame):
        stop = min(start + runs, len(frame))
        while stop < len(frame) and point[stop] == point[stop - 1]:
            stop += 1
        yield frame.iloc[start:stop]
        start = stop


def summary(run, frame: pd.DataFrame | None = None, kpis: list[str] | None = None) -> pd.DataFrame:
    """Point x KPI: mean, sd, n, lower, upper, half_width (Student-t CI across replications)."""
    frame = run.frame() if frame is None else frame
    level = run.sweep.spec.sweep.level
    # (waiting_lists_rising always: the report and console say which points are not in a steady state)
    kpis = [k for k in dict.fromkeys([*(kpis or run.sweep.spec.kpis), RISING]) if k in frame.columns]
    rows = []
    for point, group in frame.groupby("point", sort=True):
        s = summarise(group[kpis], level)
        s.index.name = "kpi"
        s = s.reset_index()
        s.insert(0, "point", point)
        rows.append(s)
    if not rows:
        return pd.DataFrame(columns=["point", "kpi", "mean", "sd", "n", "lower", "upper", "half_width"])
    out = pd.concat(rows, ignore_index=True)
    out["label"] = [kpi_info(k).label for k in out["kpi"]]
    out["unit"] = [kpi_info(k).unit for k in out["kpi"]]
    return point_frame(run).merge(out, on="point", how="right")


def points_table(run, summ: pd.DataFrame) -> pd.DataFrame:
    """One row per point: settings, then mean / lower / upper of each KPI."""
    base = point_frame(run)
    for kpi in dict.fromkeys(summ["kpi"]):
        part = summ[summ["kpi"] == kpi].set_index("point")
        for stat, suffix in (("mean", ""), ("lower", "_lower"), ("upper", "_upper")):
            base[f"{kpi}{suffix}"] = base["point"].map(part[stat])
    return base


def check_kpis(run, frame: pd.DataFrame) -> list[str]:
    """Names in the sweep's ``kpis`` that no run measured (with a suggestion each)."""
    problems = []
    known = [c for c in frame.columns if c not in ("point", "replication", "seed", "wall_seconds", "worker")]
    for k in run.sweep.spec.kpis:
        if k not in frame.columns:
            near = difflib.get_close_matches(k, known, n=1)
            problems.append(f"{k!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    return problems



def write_table(df: pd.DataFrame, folder: Path, name: str, parquet: bool = True) -> None:
    tmp = tmp_name(folder / f"{name}.csv")
    write_csv(df, tmp)
    os.replace(tmp, folder / f"{name}.csv")
    if parquet:
        tmp = tmp_name(folder / f"{name}.parquet")
        _as_text(df, _mixed_columns(df)).to_parquet(tmp, index=False)
        os.replace(tmp, folder / f"{name}.parquet")


def _mixed_columns(df: pd.DataFrame) -> list[str]:
    """Object columns Parquet cannot hold as they are (values of several types, or not text)."""
    mixed = []
    for col in df.columns:
        if df[col].dtype == object:
            kinds = {type(v) for v in df[col].dropna()}
            if len(kinds) > 1 or (kinds and not kinds <= {str, bool}):
                mixed.append(col)
    return mixed


def _as_text(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``df`` with ``columns`` as text (missing values kept missing)."""
    if not columns:
        return df
    safe = df.copy()
    for col in columns:
        safe[col] = safe[col].map(lambda v: None if v is None or v != v else str(v))
    return safe


def _with_types(schema, types):
    """``schema`` (a block's) with the type ``types`` (the whole table's) gives each field: a setting
    empty throughout one block keeps the type its values have in others."""
    import pyarrow as pa

    fields = [types.field(f.name) if f.name in types.names else f for f in schema]
    return pa.schema(fields, metadata=schema.metadata)


def tmp_name(path: Path) -> Path:
    """Where this process writes ``path`` before renaming it into place (its own name, so that
    two processes writing the same folder never write into each other's file)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_text(path: Path, text: str) -> None:
    tmp = tmp_name(path)
    tmp.write_text(text)
    os.replace(tmp, path)
