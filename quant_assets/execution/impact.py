"""Square-root market impact."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant_assets.execution._checks import check_array, check_scalar, scalar_or_array

DEFAULT_IMPACT_Y: float = 1.0
"""Default prefactor ``Y`` of the square-root law.

Tóth, Lempérière, Deremble, de Lataillade, Kockelkoren and Bouchaud (2011), "Anomalous price
impact and the critical nature of liquidity in financial markets", Phys. Rev. X 1, 021006,
measure ``I(Q) = Y σ sqrt(Q / V)`` on metaorders and find ``Y`` of order unity; Bouchaud, Bonart,
Donier and Gould (2018), *Trades, Quotes and Prices*, ch. 12, summarise the empirical range as
``Y ≈ 0.5–1``. The upper end, ``Y = 1``, is taken as a conservative default.
"""


def square_root_impact(
    quantity: ArrayLike,
    adv: ArrayLike,
    daily_vol: ArrayLike,
    y: float = DEFAULT_IMPACT_Y,
) -> float | NDArray[np.float64]:
    r"""Expected price impact of a metaorder as a fraction of price (square-root law).

    .. math:: I(Q) = Y \, \sigma_d \, \sqrt{Q / \mathrm{ADV}}

    Parameters
    ----------
    quantity : array_like
        Shares traded, ``Q >= 0`` (pass the absolute size for sells).
    adv : array_like
        Average daily volume in shares, ``> 0``.
    daily_vol : array_like
        Daily return volatility as a fraction (0.02 = 2 % a day), ``>= 0``.
    y : float, default :data:`DEFAULT_IMPACT_Y`
        Dimensionless prefactor, ``>= 0``. Order one empirically (Tóth et al. 2011, Phys. Rev.
        X 1, 021006; Bouchaud et al. 2018, *Trades, Quotes and Prices*, ch. 12).

    Returns
    -------
    float or ndarray
        Impact as a fraction of price, broadcast over the inputs. Multiply by price and
        quantity for the dollar cost.

    Raises
    ------
    ValueError
        If any input is NaN or infinite, ``quantity < 0``, ``adv <= 0``, ``daily_vol < 0`` or
        ``y < 0``.

    Examples
    --------
    >>> round(square_root_impact(50_000, 5_000_000, 0.02), 6)  # 1% of ADV, 2% daily vol
    0.002
    """
    q = check_array(quantity, "quantity", non_negative=True)
    v = check_array(adv, "adv", positive=True)
    s = check_array(daily_vol, "daily_vol", non_negative=True)
    coef = check_scalar(y, "y", non_negative=True)
    try:
        out = coef * s * np.sqrt(q / v)
    except ValueError as exc:
        raise ValueError(f"quantity, adv and daily_vol do not broadcast: {exc}") from exc
    return scalar_or_array(out)
