"""Option mathematics: Black–Scholes–Merton, implied volatility, SVI and SSVI."""

from quant_assets.options.arbitrage import (
    CalendarCheck,
    ssvi_butterfly_free,
    ssvi_calendar_free,
    svi_butterfly_arbitrage,
    svi_calendar_arbitrage,
)
from quant_assets.options.black_scholes import Greeks, bs_greeks, bs_price
from quant_assets.options.implied_volatility import IVReason, implied_vol
from quant_assets.options.ssvi import phi_heston, phi_power_law, ssvi_total_variance
from quant_assets.options.ssvi_bounds import heston_lambda_min, power_law_eta_max
from quant_assets.options.ssvi_fit import SSVIFit, fit_ssvi_surface
from quant_assets.options.svi import svi_g, svi_total_variance
from quant_assets.options.svi_fit import SVIFit, fit_svi_slice, fit_svi_slices

__all__ = [
    "CalendarCheck",
    "Greeks",
    "IVReason",
    "SSVIFit",
    "SVIFit",
    "bs_greeks",
    "bs_price",
    "fit_ssvi_surface",
    "fit_svi_slice",
    "fit_svi_surface",
    "fit_svi_slices",
    "heston_lambda_min",
    "implied_vol",
    "phi_heston",
    "phi_power_law",
    "power_law_eta_max",
    "ssvi_butterfly_free",
    "ssvi_calendar_free",
    "ssvi_total_variance",
    "svi_butterfly_arbitrage",
    "svi_calendar_arbitrage",
    "svi_g",
    "svi_total_variance",
]


def __getattr__(name: str):
    """``fit_svi_surface`` (quote QC, IVs, SVI slices: :mod:`quant_assets.options.surfaces`),
    imported on first use so that the pricing core stays free of the market-data imports."""
    if name == "fit_svi_surface":
        from quant_assets.options.surfaces import fit_svi_surface

        return fit_svi_surface
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
