r"""Constants and the Householder update shared by both implied-volatility engines.

:mod:`quant_assets.options.implied_volatility` (the vectorised NumPy reference) and
:mod:`quant_assets.options._implied_vol_numba` (the element-wise compiled loop) import the same
stopping rules and the same update from here; neither imports the other.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BRACKET_TOLERANCE",
    "FINISH_STEP",
    "MAX_ITERATIONS",
    "S_MAX",
    "S_MIN",
    "householder_step",
]

MAX_ITERATIONS = 60
S_MAX = 60.0  # erfcx/ndtr-based evaluation is finite up to here; vol*sqrt(t) = 60 is absurd
# smallest vol*sqrt(t) solved for: below it 1/s and f' approach overflow (only reached at, or
# within ~1e-290 of, the money forward with normalised prices below ~1e-305)
S_MIN = 1e-305
# Householder(3) leaves an error ~C*step^4 with C*s^3 = O(1) for these log objectives, so a
# relative step below 3e-5 is ~1e-18 from the root
FINISH_STEP = 3e-5
BRACKET_TOLERANCE = 1e-12  # a root bracketed this tightly is accepted despite noisy f


def householder_step(f: Any, f1: Any, x: Any, s: Any) -> Any:
    r"""Third-order Householder step for ``f = ln g(s) - const``, ``g = b`` or ``b_max - b``.

    With :math:`\rho = f'` and :math:`c = b''/b' = x^2/s^3 - s/4` (Jäckel 2015, "Let's be
    rational", eq. 2.5), the higher derivatives follow from the first: :math:`h_2 = f''/f' =
    c - \rho` and :math:`h_3 = f^{(3)}/f' = c' + h_2(h_2 - \rho)` with :math:`c' = -3x^2/s^4 -
    1/4`. The step is :math:`\nu(1 + h_2\nu/2)/(1 + \nu(h_2 + h_3\nu/6))` with :math:`\nu =
    -f/f'` (Householder's method of order 3: quartic convergence). It is evaluated in the
    scale-free quantities :math:`\nu/s`, :math:`h_2 s` and :math:`h_3 s^2` (functions of
    :math:`x/s`, :math:`s^2` and :math:`sf'`), which stay finite for tiny :math:`s` where
    :math:`h_3 \sim 2/s^2` itself overflows. Works element-wise on arrays and on floats (the
    compiled engine jit-compiles it).
    """
    h = x / s
    hh = h * h
    g = f1 * s
    a2 = hh - 0.25 * s * s - g
    a3 = a2 * (a2 - g) - 3.0 * hh - 0.25 * s * s
    mu = -f / g
    return s * mu * (1.0 + 0.5 * a2 * mu) / (1.0 + mu * (a2 + a3 * mu / 6.0))
