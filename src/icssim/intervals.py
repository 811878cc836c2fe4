"""Student-t confidence intervals across replications: the one place their half-width is computed.

``scipy.special.stdtrit`` is the function ``scipy.stats.t.ppf`` calls, without importing
``scipy.stats`` (about a second at every command's start, most of icssim's own import time).
It is imported at the first interval, not with this module: ``scipy.special`` itself takes a
quarter of a second, which ``icssim run`` spends while its workers simulate (:mod:`icssim.preload`).
"""

from __future__ import annotations

import numpy as np


def t_quantile(level: float, dof: float | np.ndarray) -> float | np.ndarray:
    """The two-sided Student-t critical value for confidence ``level`` (0.95 -> 1.96 as dof -> inf).

    ``dof`` may be an array (one per row); the result then is too.
    """
    from scipy.special import stdtrit

    return stdtrit(dof, 0.5 + level / 2)


def half_width(sd: float | np.ndarray, n: int | np.ndarray, level: float = 0.95) -> float | np.ndarray:
    """The CI half-width of a mean of ``n`` replications with standard deviation ``sd``: t * sd / sqrt(n).

    Scalars or arrays; NaN where ``n`` < 2, since one replication gives no interval.
    """
    n_arr = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = t_quantile(level, np.maximum(n_arr - 1, 1)) * np.asarray(sd, dtype=float) / np.sqrt(n_arr)
    out = np.where(n_arr > 1, out, np.nan)
    return float(out) if out.ndim == 0 else out
