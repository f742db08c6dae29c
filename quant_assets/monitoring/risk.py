"""Risk of the live book: factor betas of its returns and the net Greeks of the options book.

Factor betas are the OLS slopes of the book's daily returns on factor returns with an intercept,
``beta = (X'X)^-1 X'r`` (Fama & French 1993 time-series regressions). Net Greeks sum each
leg's Greek times its signed quantity and contract multiplier.

Example
-------
>>> f = pd.DataFrame({"mkt": [0.01, -0.02, 0.015, 0.0]})
>>> r = 0.001 + 0.5 * f["mkt"]
>>> round(float(factor_betas(r, f)["mkt"]), 6)
0.5
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GREEKS = ("delta", "gamma", "vega", "theta")

__all__ = ["GREEKS", "factor_betas", "net_greeks"]


def factor_betas(returns: pd.Series, factors: pd.DataFrame) -> pd.Series:
    """OLS betas of ``returns`` on ``factors`` (aligned on the index, rows with NaN dropped).

    NaN for every factor when fewer rows than regressors (plus the intercept) remain.
    """
    data = pd.concat([returns.rename("__r__"), factors], axis=1, join="inner").dropna()
    if len(data) <= factors.shape[1] + 1:
        return pd.Series(np.nan, index=factors.columns, dtype=float)
    x = np.column_stack([np.ones(len(data)), data[factors.columns].to_numpy(dtype=float)])
    coef, *_ = np.linalg.lstsq(x, data["__r__"].to_numpy(dtype=float), rcond=None)
    return pd.Series(coef[1:], index=factors.columns, dtype=float)


def net_greeks(legs: pd.DataFrame, *, quantity: str = "quantity", multiplier: float | str = 100.0) -> dict[str, float]:
    """Sum over legs of ``greek * quantity * multiplier`` for each Greek column present.

    ``multiplier`` is a number or the name of a per-leg column; an empty book has zero Greeks.
    """
    mult = legs[multiplier] if isinstance(multiplier, str) else multiplier
    size = legs[quantity].astype(float) * mult if len(legs) else 0.0
    return {g: float((legs[g].astype(float) * size).sum()) if len(legs) else 0.0 for g in GREEKS if g in legs}
