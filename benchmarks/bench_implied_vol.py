"""Benchmark: implied volatility of 1,000,000 random European options.

Our vectorised NumPy solver (:func:`quant_assets.options.implied_vol`, the reference) and its
optional compiled twin (``engine="numba"``, whose throughput ratio to the NumPy engine and
one-off compile time are printed) against
``py_vollib_vectorized`` (Jäckel's "Let's be rational" compiled with numba) on the SAME inputs
in one run: options/s, ratio, max absolute vol error against the known vols, and failure
counts. Target: at least 2x py_vollib_vectorized's throughput with zero failures where a
solution exists.

"A solution exists" is judged independently of both solvers: the price must carry the
volatility to better than 1e-11, i.e. eps * price / vega <= 1e-11 (deep in-the-money,
short-dated, low-vol options whose time value is lost in the price's rounding are counted
separately). A failure is a NaN there or an error above 1e-10 + 8 eps price / vega.

The comparison needs the ``bench`` extra (``pip install py_vollib==1.0.1
py_lets_be_rational==1.0.1 py_vollib_vectorized numba``); without it only our solver runs.

Run: ``python benchmarks/bench_implied_vol.py [n_options]``
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np

from quant_assets.options import IVReason, bs_greeks, bs_price, implied_vol

_EPS = np.finfo(float).eps


def random_options(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    spot = np.full(n, 100.0)
    strike = 100.0 * np.exp(rng.uniform(np.log(0.5), np.log(1.5), n))
    t = np.exp(rng.uniform(np.log(1.0 / 365.0), np.log(2.0), n))
    vol = rng.uniform(0.05, 1.0, n)
    r = rng.uniform(0.0, 0.05, n)
    q = rng.uniform(0.0, 0.03, n)
    is_call = rng.random(n) < 0.5
    price = np.asarray(bs_price(spot, strike, t, r, q, vol, is_call))
    return {
        "price": price,
        "spot": spot,
        "strike": strike,
        "t": t,
        "r": r,
        "q": q,
        "vol": vol,
        "is_call": is_call,
    }


def _best_time(fn, repeats: int = 3) -> tuple[float, np.ndarray]:
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, np.asarray(out, dtype=float).ravel()


def _report(
    name: str,
    n: int,
    seconds: float,
    iv: np.ndarray,
    o: dict,
    solvable: np.ndarray,
    noise: np.ndarray,
) -> None:
    err = np.abs(iv - o["vol"])
    failed_nan = solvable & ~np.isfinite(iv)
    with np.errstate(over="ignore", invalid="ignore"):
        inaccurate = solvable & np.isfinite(iv) & (err > 1e-10 + 8 * noise)
    finite = np.isfinite(iv)
    print(
        f"  {name:<22s}: {n / seconds / 1e6:6.2f} M options/s ({seconds * 1e3:7.1f} ms); "
        f"max |vol error| where solvable {np.nanmax(np.where(solvable, err, np.nan)):.2e}, "
        f"over all finite results {np.nanmax(err[finite]):.2e}; failures where solvable: "
        f"{int(failed_nan.sum())} NaN, {int(inaccurate.sum())} inaccurate"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    o = random_options(n)
    vega = np.asarray(bs_greeks(o["spot"], o["strike"], o["t"], o["r"], o["q"], o["vol"], o["is_call"]).vega)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        noise = _EPS * np.maximum(o["price"], 1e-300) / vega
    solvable = np.isfinite(noise) & (noise <= 1e-11)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"Machine: {os.cpu_count()} cores, load average (1/5/15 min) {load}")
    print(
        f"Implied vols of {n:,} random European options (S=100, K in [50,150], 1 day-2 years, "
        f"vol 0.05-1, both sides); solvable (eps*price/vega <= 1e-11): {solvable.sum():,}"
    )

    args = (o["price"], o["spot"], o["strike"], o["t"], o["r"], o["q"], o["is_call"])
    implied_vol(*(a[:1000] for a in args))  # warm-up
    ours_s, ours = _best_time(lambda: implied_vol(*args))
    _, reason = implied_vol(*args, return_reason=True)
    _report("quant_assets (NumPy)", n, ours_s, ours, o, solvable, noise)
    codes = np.bincount(np.asarray(reason).ravel(), minlength=len(IVReason))
    print("      reason codes: " + ", ".join(f"{r.name}={codes[r]}" for r in IVReason if codes[r]))

    numba_s = None
    try:
        t0 = time.perf_counter()
        implied_vol(*(a[:1000] for a in args), engine="numba")  # JIT compilation
        compile_s = time.perf_counter() - t0
    except ImportError:
        print("  numba not installed: engine='numba' skipped")
    else:
        import numba

        numba_s, fast = _best_time(lambda: implied_vol(*args, engine="numba"))
        _report("quant_assets (numba)", n, numba_s, fast, o, solvable, noise)
        print(
            f"      numba engine / NumPy engine throughput: {ours_s / numba_s:.2f}x "
            f"({numba.get_num_threads()} threads; compiling took {compile_s:.1f} s, once per process)"
        )

    try:
        from py_vollib_vectorized import vectorized_implied_volatility
    except ImportError:
        print("  py_vollib_vectorized not installed (pip install '.[bench]'): comparison skipped")
        return
    flag = np.where(o["is_call"], "c", "p")

    def theirs() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return vectorized_implied_volatility(
                o["price"],
                o["spot"],
                o["strike"],
                o["t"],
                o["r"],
                flag,
                q=o["q"],
                model="black_scholes_merton",
                return_as="numpy",
                on_error="ignore",
            )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vectorized_implied_volatility(
            o["price"][:10],
            o["spot"][:10],
            o["strike"][:10],
            o["t"][:10],
            o["r"][:10],
            flag[:10],
            q=o["q"][:10],
            model="black_scholes_merton",
            return_as="numpy",
            on_error="ignore",
        )  # JIT warm-up
    their_s, their = _best_time(theirs)
    their = np.where(their > 0, their, np.nan)  # it reports failures as 0 or NaN
    _report("py_vollib_vectorized", n, their_s, their, o, solvable, noise)
    ratio = their_s / ours_s
    print(
        f"  throughput ratio, NumPy reference / py_vollib_vectorized: {ratio:.2f}x "
        f"(target >= 2x: {'PASS' if ratio >= 2 else 'FAIL'})"
    )
    if numba_s is not None:
        ratio_nb = their_s / numba_s
        print(
            f"  throughput ratio, optional numba engine / py_vollib_vectorized: {ratio_nb:.2f}x "
            f"(target >= 2x: {'PASS' if ratio_nb >= 2 else 'FAIL'})"
        )


if __name__ == "__main__":
    main()
