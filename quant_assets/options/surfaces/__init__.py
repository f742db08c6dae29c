"""Daily implied-volatility surfaces: quote QC, IVs, SVI slices, arbitrage checks, SSVI fallback.

:func:`surface_points` turns a session's option quotes into implied-volatility points (every
quote kept with a QC reason), :func:`fit_slices` fits and checks the slices of every underlier
in one batch, :func:`fit_svi_surface` is the blueprint's per-underlier entry point.
"""

from quant_assets.options.surfaces.api import fit_svi_surface, fit_svi_surfaces, surface_dict
from quant_assets.options.surfaces.config import DAYS_PER_YEAR, SurfaceConfig
from quant_assets.options.surfaces.fit import SLICE_COLUMNS, fit_slices, ssvi_as_raw_svi
from quant_assets.options.surfaces.points import POINT_COLUMNS, REASONS, curve_rate, surface_points

__all__ = [
    "DAYS_PER_YEAR",
    "POINT_COLUMNS",
    "REASONS",
    "SLICE_COLUMNS",
    "SurfaceConfig",
    "curve_rate",
    "fit_slices",
    "fit_svi_surface",
    "fit_svi_surfaces",
    "ssvi_as_raw_svi",
    "surface_dict",
    "surface_points",
]
