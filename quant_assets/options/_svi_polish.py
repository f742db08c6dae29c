r"""Polish of the SVI fit: variable-projection Gauss–Newton in :math:`(m, \ln\sigma)`.

The outer problem :math:`F(m, \ln\sigma) = \min_{A,\beta,b} \mathrm{SSE}` starts from the best
point of a 13 × 12 grid and is converged by Gauss–Newton steps of variable projection (Golub &
Pereyra 1973, with Kaufman's 1975 Jacobian): the Jacobian columns in :math:`(m, \ln\sigma)`
are projected orthogonally to the linear features of the active face (a Schur complement of
their Gram matrix); a batch of damped, extended and one-coordinate steps is evaluated at once
by exact inner solves and the best kept. The iteration stops when the Gauss–Newton predicted
decrease of the SSE (a scaled squared gradient norm, projected onto the :math:`(m, \sigma)`
box) falls below :math:`10^{-10}` of the SSE, or the SSE gains less than :math:`10^{-9}`
relative over five steps (SVI's flat valleys: the parameters are ill-determined there, the fit
is not).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from quant_assets.options._svi_inner import _EDGE_ALPHA, _evaluate, _solve2, _solve2_undamped
from quant_assets.options._svi_slices import _LS_BOUNDS, _Slices

Array = NDArray[np.float64]

_MAX_ITERATIONS = 50
_PRED_RTOL = 1e-10  # Gauss–Newton predicted SSE decrease below this (relative): converged
# trial steps: (damping lambda, multiple of the damped step); the multiples extend damped steps
# where the Gauss–Newton model underestimates how far the reduced objective keeps falling
_TRIALS = ((0.0, 1.0), (0.1, 1.0), (1.0, 1.0), (10.0, 1.0), (1e3, 1.0), (1.0, 3.0), (10.0, 3.0), (10.0, 9.0))
_EXTEND = np.array([2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
_TRIALS_TINY = ((1e5, 1.0), (1e7, 1.0), (1e9, 1.0))
_WINDOW, _WINDOW_RTOL = 5, 1e-9  # SSE gain over the last _WINDOW steps below this: converged
_STALL_RTOL = 1e-8  # no descent at any damping: converged if the predicted decrease is this small
_ROUNDING = 1e-14  # relative size of residuals that are rounding noise
# Trial steps of one polish iteration, as (damping, multiple) arrays: the damped steps, then
# the one-coordinate Newton steps (m only at multiples 1, 3, ln sigma only at 1, 3), then the
# tiny steps tried only when none of the others descends.
_LAM = np.array([lam for lam, _ in _TRIALS + _TRIALS_TINY])
_MULT = np.array([f for _, f in _TRIALS + _TRIALS_TINY])
_N_MAIN = len(_TRIALS) + 4  # damped and one-coordinate steps of the first round
_EDGE_ALPHA_BY_FACE = np.concatenate([[0.0], _EDGE_ALPHA, np.zeros(4)])


def _polish_step(
    d: _Slices, state: tuple[Array, ...]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], tuple[Array, ...], Array]:
    """One variable-projection Gauss–Newton / Levenberg–Marquardt iteration on (m, ln sigma)
    for every slice of ``d``; ``state`` is (m, ls, sse, A, beta, b, face), each (B,).

    The Jacobian columns in (m, ln sigma) are projected orthogonally to the linear features of
    each slice's active face (Schur complement of their Gram matrix; features a face does not
    use are zero columns with a unit diagonal). Returns (stopped, converged, new state, gain):
    ``stopped`` where the predicted decrease is negligible or no trial step descends, the
    state unchanged there."""
    m, ls, sse, a, beta, b, face = state
    floor = _ROUNDING**2 * d.svv[:, 0]  # SSE of residuals at rounding level: a perfect fit
    sig = np.exp(ls)
    xm = d.x - m[:, None]
    big_r = np.sqrt(xm * xm + (sig * sig)[:, None])
    resid = a[:, None] + beta[:, None] * d.x + b[:, None] * big_r - d.v
    q_feat = xm * xm / (big_r + sig[:, None])  # R - sigma
    interior, edge = (face == 0)[:, None], ((face >= 1) & (face <= 4))[:, None]
    zeros = np.zeros_like(d.x)
    col1 = np.where(interior, d.x, np.where(edge, _EDGE_ALPHA_BY_FACE[face][:, None] * d.x + q_feat, zeros))
    col2 = np.where(interior, q_feat, zeros)
    # d w / d m and d w / d ln sigma (the latter less b sigma, a constant, for conditioning)
    nb = -b[:, None]
    feats = np.stack([np.ones_like(d.x), col1, col2, nb * xm / big_r, (nb * sig[:, None]) * q_feat / big_r, resid], 1)
    gram = (feats * d.w[:, None, :]) @ feats.transpose(0, 2, 1)
    lin = gram[:, :3, :3].copy()
    lin[:, 1, 1] += face > 4
    lin[:, 2, 2] += face != 0
    cross = gram[:, :3, 3:]
    schur = gram[:, 3:, 3:] - cross.transpose(0, 2, 1) @ np.linalg.solve(lin, cross)
    h11, h12, g1, h22, g2 = schur[:, 0, 0], schur[:, 0, 1], schur[:, 0, 2], schur[:, 1, 1], schur[:, 1, 2]
    # coordinates at a bound with the descent pointing outwards are held
    m_lo, m_hi = d.m_lo[:, 0], d.m_hi[:, 0]
    ls_lo, ls_hi = _LS_BOUNDS
    hold_m = ((m <= m_lo) & (g1 > 0)) | ((m >= m_hi) & (g1 < 0))
    hold_s = ((ls <= ls_lo) & (g2 > 0)) | ((ls >= ls_hi) & (g2 < 0))
    h12 = np.where(hold_m | hold_s, 0.0, h12)
    g1, h11 = np.where(hold_m, 0.0, g1), np.where(hold_m, 1.0, h11)
    g2, h22 = np.where(hold_s, 0.0, g2), np.where(hold_s, 1.0, h22)
    tiny = 1e-14 * (h11 + h22) + 1e-300
    d1, d2 = _solve2(h11, h12, h22, g1, g2, 0.0)
    predicted = -(g1 * d1 + g2 * d2)  # Gauss–Newton predicted SSE decrease (SSE units)
    small = predicted <= _PRED_RTOL * sse + floor
    # all trial steps at once: damped ones, one-coordinate Newton steps, tiny damped ones
    dm, dls = _solve2(*(c[:, None] for c in (h11, h12, h22, g1, g2)), _LAM)
    dm, dls = dm * _MULT, dls * _MULT
    nt = len(_TRIALS)
    one_m, one_s = (-g1 / (h11 + tiny))[:, None], (-g2 / (h22 + tiny))[:, None]
    z = np.zeros((m.size, 2))
    step_m = np.concatenate([dm[:, :nt], one_m * [1.0, 3.0], z, dm[:, nt:]], 1)
    step_s = np.concatenate([dls[:, :nt], z, one_s * [1.0, 3.0], dls[:, nt:]], 1)
    m_try = np.clip(m[:, None] + step_m, m_lo[:, None], m_hi[:, None])
    ls_try = np.clip(ls[:, None] + step_s, ls_lo, ls_hi)
    sse_t, a_t, beta_t, b_t, face_t = _evaluate(d, m_try, ls_try)
    # first round: damped and one-coordinate steps; else the tiny ones
    i_main = np.argmin(sse_t[:, :_N_MAIN], axis=1)
    i_tiny = _N_MAIN + np.argmin(sse_t[:, _N_MAIN:], axis=1)
    rows = np.arange(m.size)
    main_ok = sse_t[rows, i_main] < sse
    i = np.where(main_ok, i_main, i_tiny)
    improved = sse_t[rows, i] < sse
    stopped = small | ~improved
    converged = small | (predicted <= _STALL_RTOL * sse + floor)
    # a damped step that is not its round's first won: extend it along its direction
    ext = np.flatnonzero(~stopped & (i != 0) & (i != _N_MAIN))
    pick = [c[rows, i] for c in (m_try, ls_try, sse_t, a_t, beta_t, b_t, face_t)]
    if ext.size:
        dm_e = pick[0][ext] - m[ext]
        dls_e = pick[1][ext] - ls[ext]
        m_ext = np.clip(m[ext, None] + dm_e[:, None] * _EXTEND, m_lo[ext, None], m_hi[ext, None])
        ls_ext = np.clip(ls[ext, None] + dls_e[:, None] * _EXTEND, ls_lo, ls_hi)
        out = _evaluate(d if ext.size == m.size else d.take(ext), m_ext, ls_ext)
        j = np.argmin(out[0], axis=1)
        r = np.arange(ext.size)
        use = out[0][r, j] < pick[2][ext]
        for c, new in zip(pick, (m_ext, ls_ext, *out)):
            c[ext[use]] = new[r, j][use]
    new_state = (
        tuple(pick) if not stopped.any() else tuple(np.where(stopped, old, new) for old, new in zip(state, pick))
    )
    return stopped, converged & stopped, new_state, sse - new_state[2]


def _polish(d: _Slices, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], NDArray[np.bool_]]:
    """Polish every slice of ``d`` from ``state`` (:func:`_polish_step`) until it stops, gains
    less than 1e-10 relative in a step or 1e-9 relative over five steps (SVI's flat valleys:
    the parameters are ill-determined there, the fit is not); converged slices drop out of the
    batch. Returns the final state and the converged flags."""
    if d.n.size == 1:
        return _polish_one(d, state)
    state = tuple(np.array(c) for c in state)
    converged = np.zeros(d.n.size, dtype=bool)
    floor = _ROUNDING**2 * d.svv[:, 0]
    history = [state[2].copy()]  # SSE per step of the slices still running
    active = np.arange(d.n.size)
    sub = d
    for _ in range(_MAX_ITERATIONS):
        stopped, conv, new, gain = _polish_step(sub, tuple(c[active] for c in state))
        for c, v in zip(state, new):
            c[active] = v
        sse = new[2]
        history.append(state[2].copy())
        stalled = np.zeros(active.size, dtype=bool)
        if len(history) > _WINDOW:
            stalled = history[-_WINDOW - 1][active] - sse <= _WINDOW_RTOL * sse
        done = stopped | (gain <= _PRED_RTOL * sse + floor[active]) | stalled
        converged[active] = np.where(stopped, conv, done)
        if done.all():
            return state, converged
        if done.any():
            keep = ~done
            active = active[keep]
            sub = sub.take(np.flatnonzero(keep))
    return state, converged


def _polish_one(d: _Slices, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], NDArray[np.bool_]]:
    """:func:`_polish` for a batch of one slice with scalar arithmetic (a numpy call on a
    batch of one costs as much as on a batch of a hundred): the same steps in the same order,
    the iteration of :func:`_polish_step` unrolled on floats."""
    m, ls, sse, a, beta, b = (float(c[0]) for c in state[:6])
    face = int(state[6][0])
    m_lo, m_hi = float(d.m_lo[0, 0]), float(d.m_hi[0, 0])
    ls_lo, ls_hi = _LS_BOUNDS
    x, v, w = d.x[0], d.v[0], d.w[0]
    floor = _ROUNDING**2 * float(d.svv[0, 0])
    history = [sse]
    converged = False
    ones = np.ones_like(x)
    for _ in range(_MAX_ITERATIONS):
        sig = np.exp(ls)
        xm = x - m
        big_r = np.sqrt(xm * xm + sig * sig)
        resid = a + beta * x + b * big_r - v
        q_feat = xm * xm / (big_r + sig)  # R - sigma
        if face == 0:
            cols = [ones, x, q_feat]
        elif face <= 4:
            cols = [ones, _EDGE_ALPHA_BY_FACE[face] * x + q_feat]
        else:
            cols = [ones]
        n_lin = len(cols)
        cols += [-b * xm / big_r, (-b * sig) * q_feat / big_r, resid]
        feats = np.stack(cols)
        gram = (feats * w) @ feats.T
        cross = gram[:n_lin, n_lin:]
        schur = gram[n_lin:, n_lin:] - cross.T @ np.linalg.solve(gram[:n_lin, :n_lin], cross)
        (h11, h12, g1), (_, h22, g2), _ = schur.tolist()
        hold_m = (m <= m_lo and g1 > 0) or (m >= m_hi and g1 < 0)
        hold_s = (ls <= ls_lo and g2 > 0) or (ls >= ls_hi and g2 < 0)
        if hold_m or hold_s:
            h12 = 0.0
        if hold_m:
            g1, h11 = 0.0, 1.0
        if hold_s:
            g2, h22 = 0.0, 1.0
        tiny = 1e-14 * (h11 + h22) + 1e-300
        d1, d2 = _solve2_undamped(h11, h12, h22, g1, g2)
        predicted = -(g1 * d1 + g2 * d2)
        if predicted <= _PRED_RTOL * sse + floor:
            converged = True
            break
        dm, dls = _solve2(h11, h12, h22, g1, g2, _LAM)
        one_m, one_s = -g1 / (h11 + tiny), -g2 / (h22 + tiny)
        nt = len(_TRIALS)
        step_m = np.concatenate([dm[:nt] * _MULT[:nt], [one_m, 3.0 * one_m, 0.0, 0.0], dm[nt:] * _MULT[nt:]])
        step_s = np.concatenate([dls[:nt] * _MULT[:nt], [0.0, 0.0, one_s, 3.0 * one_s], dls[nt:] * _MULT[nt:]])
        m_try = np.minimum(np.maximum(m + step_m, m_lo), m_hi)  # np.clip, without its overhead
        ls_try = np.minimum(np.maximum(ls + step_s, ls_lo), ls_hi)
        sse_t, a_t, beta_t, b_t, face_t = (c[0] for c in _evaluate(d, m_try[None], ls_try[None]))
        i = int(np.argmin(sse_t[:_N_MAIN]))
        if not sse_t[i] < sse:
            i = _N_MAIN + int(np.argmin(sse_t[_N_MAIN:]))
        if not sse_t[i] < sse:
            converged = predicted <= _STALL_RTOL * sse + floor
            break
        if i not in (0, _N_MAIN):
            m_ext = np.minimum(np.maximum(m + (float(m_try[i]) - m) * _EXTEND, m_lo), m_hi)
            ls_ext = np.minimum(np.maximum(ls + (float(ls_try[i]) - ls) * _EXTEND, ls_lo), ls_hi)
            sse_x, a_x, beta_x, b_x, face_x = (c[0] for c in _evaluate(d, m_ext[None], ls_ext[None]))
            j = int(np.argmin(sse_x))
            if sse_x[j] < sse_t[i]:
                m_try, ls_try, sse_t, a_t, beta_t, b_t, face_t = (m_ext, ls_ext, sse_x, a_x, beta_x, b_x, face_x)
                i = j
        gain = sse - float(sse_t[i])
        m, ls, sse = float(m_try[i]), float(ls_try[i]), float(sse_t[i])
        a, beta, b, face = float(a_t[i]), float(beta_t[i]), float(b_t[i]), int(face_t[i])
        history.append(sse)
        stalled = len(history) > _WINDOW and history[-_WINDOW - 1] - sse <= _WINDOW_RTOL * sse
        if gain <= _PRED_RTOL * sse + floor or stalled:
            converged = True
            break
    out = tuple(np.array([c]) for c in (m, ls, sse, a, beta, b))
    return (*out, np.array([face])), np.array([converged])
