"""The compiled inner loop of :mod:`wnlab.engine.compiled` (imported only when it is used: it imports Numba).

One function, :func:`advance`, moves a chunk of runs from step ``t0`` to their stop or to step
``t_end``, ``LANES`` runs at a time (see the package docstring for why and how). Everything that
varies between workloads (method, loss, mini-batch rows, step-size tables, history) is a runtime
flag, so one compilation (cached on disk) serves every workload.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import stopping
from ..driver import HISTORY_KEYS
from ..stopping import DIVERGED, STALL_RTOL

#: runs advanced together by one call; each lane is one run, computed by the same instructions
LANES = 8
GD, WN, RPGD = 0, 1, 2
#: losses: reduced least squares (O(k): s, b), squared, logistic and exponential loss of z = U (s a) (O(mk))
LSQ, SQUARED, LOGISTIC, EXPONENTIAL = 0, 1, 2, 3
N_REC = len(HISTORY_KEYS)  # loss, g, w_null_norm, x_norm, dist, x_null_norm, w_norm, w_turn

_jit = njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
stop_code = _jit(stopping.stop_code)
on_stationary_set = _jit(stopping.on_stationary_set)
divergence_limit = _jit(stopping.divergence_limit)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ROW = np.uint64(0xD1B54A32D192ED03)


@_jit
def _splitmix64(x):
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


@_jit
def _kth_smallest(a, n, k):
    """The ``k``-th smallest (from 0) of ``a[:n]`` (quickselect; reorders ``a[:n]``)."""
    lo, hi = 0, n - 1
    while lo < hi:
        pivot = a[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


@_jit
def _batch_rows(seed, t, size, keys, work, rows):
    """The rows of :func:`wnlab.stochastic.batch_rows` (same keys, the ``size`` smallest) into
    ``rows[:size]`` (in another order: only summation orders differ)."""
    m = keys.shape[0]
    h = _splitmix64(_splitmix64(seed) ^ np.uint64(t))
    for j in range(m):
        keys[j] = _splitmix64(h ^ (np.uint64(j) * _ROW))
    # the keys are uniform: keep the rows below a cut that about size + 2 sqrt(size) + 2 keys pass
    frac = (size + 2.0 * np.sqrt(size) + 2.0) / m
    cut = np.uint64(frac * 18446744073709551616.0) if frac < 1.0 else np.uint64(0xFFFFFFFFFFFFFFFF)
    n = 0
    for j in range(m):  # (without branches)
        work[n] = keys[j]
        rows[n] = j
        n += keys[j] <= cut
    if n < size:  # (rarely: too few passed, take them all)
        for j in range(m):
            work[j] = keys[j]
            rows[j] = j
        n = m
    out = 0
    if n <= 64:  # few candidates: the rank of each, without branches (quickselect mispredicts)
        for q in range(n):
            key, rank = work[q], 0
            for r in range(n):
                rank += work[r] < key
            if rank < size:
                rows[out] = rows[q]
                out += 1
        return
    for q in range(n):
        keys[q] = work[q]
    kth = _kth_smallest(keys, n, size - 1)  # keys are distinct, so exactly size rows are <= kth
    for q in range(n):
        if work[q] <= kth:
            rows[out] = rows[q]
            out += 1


@_jit
def _norm_rows(seed, t, size, cw, rows):
    """The rows of :func:`wnlab.stochastic.batch_rows` with ``rows="norm"``: draw ``q``'s key read as
    ``u`` in ``[0, 1)``, the first ``j`` with ``cw[j] > u cw[-1]`` (``cw``: cumulative row weights)."""
    m = cw.shape[0]
    h = _splitmix64(_splitmix64(seed) ^ np.uint64(t))
    total = cw[m - 1]
    for q in range(size):
        key = _splitmix64(h ^ (np.uint64(q) * _ROW))
        target = (np.float64(key >> np.uint64(11)) * 1.1102230246251565e-16) * total  # (x 2^-53: exact)
        lo, hi = 0, m - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if cw[mid] > target:
                hi = mid
            else:
                lo = mid + 1
        rows[q] = lo


@_jit
def _loss_and_deriv(kind, z, y):
    """``l(z, y)`` and ``l'(z, y)`` of :class:`wnlab.losses.SquaredLoss` / ``LogisticLoss`` /
    ``ExponentialLoss`` (which overflows to ``inf`` like NumPy's: the stop rule reads divergence)."""
    if kind == EXPONENTIAL:
        v = np.exp(-y * z)
        return v, -y * v
    if kind == LOGISTIC:
        x = -y * z  # logaddexp(0, x) and expit(x), without overflow
        v = np.exp(-abs(x))
        sig = 1.0 / (1.0 + v) if x >= 0 else v / (1.0 + v)
        return max(x, 0.0) + np.log1p(v), -y * sig
    e = z - y
    return 0.5 * e * e, e


@_jit
def _evaluate(l, k, cur, R, xa, z, lp, keys, work, rows, kind, s, b, US, y, rn2, bs, norm, seed, t):
    """Loss at ``x = k * cur[l]`` and the step's gradient into ``R[l]``; returns
    ``(loss, cur[l] . r)``."""
    kp = cur.shape[1]
    m = US.shape[0]
    loss = 0.0
    if kind == LSQ:  # reduced least squares: e = s * x - b, r = s * e
        if bs == 0:
            pd = 0.0
            for j in range(kp):
                c = cur[l, j]
                e = s[j] * (k * c) - b[j]
                loss += e * e
                r = e * s[j]
                R[l, j] = r
                pd += c * r
            return 0.5 * loss, pd
        for j in range(kp):
            e = s[j] * (k * cur[l, j]) - b[j]
            loss += e * e
        loss *= 0.5
    for j in range(kp):
        xa[j] = k * cur[l, j]
        R[l, j] = 0.0
    if kind != LSQ:  # z = U (s * x): the full loss (and, full batch, the gradient)
        for i in range(m):
            zi = 0.0
            for j in range(kp):
                zi += US[i, j] * xa[j]
            v, d = _loss_and_deriv(kind, zi, y[i])
            loss += v
            lp[i] = d
        if bs == 0:
            for i in range(m):
                d = lp[i]
                for j in range(kp):
                    R[l, j] += d * US[i, j]
    if bs > 0:  # the mini-batch gradient of wnlab.stochastic.minibatch_grad
        if norm >= 2:  # rows="norm": rn2 holds the cumulative row weights
            _norm_rows(seed, t, bs, rn2, rows)
        else:
            _batch_rows(seed, t, bs, keys, work, rows)
        for q in range(bs):
            i = rows[q]
            zi = 0.0
            for j in range(kp):
                zi += US[i, j] * xa[j]
            d = _loss_and_deriv(SQUARED if kind == LSQ else kind, zi, y[i])[1]
            if norm >= 2:
                wi = rn2[i] - (rn2[i - 1] if i > 0 else 0.0)
                d = d / (bs * wi) if norm == 3 else d * (rn2[m - 1] / (bs * wi))
            else:
                d = d / (bs * rn2[i]) if norm else (m / bs) * d
            for j in range(kp):
                R[l, j] += d * US[i, j]
    pd = 0.0
    for j in range(kp):
        pd += cur[l, j] * R[l, j]
    return loss, pd


@_jit
def _turn(cur, be, prev, pbe, l):
    """``(||w||, w_turn)`` of ``engine.motion``: the norm of ``w = (cur[l], be)`` and the angle between
    it and the previous ``(prev[l], pbe)``, as ``2 arcsin(||u - u_prev||/2)``."""
    n2 = be * be
    p2 = pbe * pbe
    for j in range(cur.shape[1]):
        n2 += cur[l, j] * cur[l, j]
        p2 += prev[l, j] * prev[l, j]
    n, pn = np.sqrt(n2), np.sqrt(p2)
    if n == 0.0 or pn == 0.0:
        return n, 0.0
    c2 = (be / n - pbe / pn) ** 2
    for j in range(cur.shape[1]):
        c2 += (cur[l, j] / n - prev[l, j] / pn) ** 2
    return n, 2.0 * np.arcsin(min(0.5 * np.sqrt(c2), 1.0))


@_jit
def _record(out, method, loss, g, k, be, cur, l, a_star, prev, pbe, first):
    """The history values (engine.HISTORY_KEYS order) of the run in lane ``l`` at the predictor
    ``x = k w`` (``w = (cur[l], be)``); ``prev[l]`` and ``pbe`` hold its previous ``w`` (``first``:
    there is none, ``w_turn = 0``). Both compiled loops record through it: BN as a method with a
    scale (``method = WN``), ``k = g/sigma``."""
    xn2 = 0.0
    d2 = 0.0
    for j in range(cur.shape[1]):
        x = k * cur[l, j]
        xn2 += x * x
        d2 += (x - a_star[j]) ** 2
    xb = k * be
    xn = np.sqrt(xn2 + xb * xb)
    out[0] = loss
    out[3] = xn
    out[4] = np.sqrt(d2 + xb * xb)
    out[5] = abs(xb)
    if method == GD:
        out[1] = xn
        out[2] = abs(xb) / (xn if xn > 0 else 1.0)
    n, turn = _turn(cur, be, prev, pbe, l)
    if method != GD:
        out[1] = g
        out[2] = abs(be) / n
    out[6] = 1.0 if method == GD else n
    out[7] = 0.0 if first else turn


@_jit
def _sgd_rule(x, grad, buf, lr, mu, wd, nesterov):
    """:class:`wnlab.methods.optim.SGD` on one number: ``(new x, new buffer)``."""
    d = grad + wd * x
    bn = mu * buf + d
    return x - lr * ((d + mu * bn) if nesterov else bn), bn


@_jit
def _sgd_steps(method, nesterov, run, cur, nxt, bcur, bnxt, R, eta, gam, g, be, nw2, k, inw, pd, ps, loss,
               pg, pbe, ploss, md, mu, wd, bg, bbe, pbg, pbbe, t):
    """Step 3 with an optimizer: ``Optimized(GD/WN/RPGD, SGD).step`` for every running lane, into
    ``nxt`` and ``bnxt`` (the gradients of ``Method.gradients``, then ``Method.project`` for rPGD)."""
    kp = cur.shape[1]
    for l in range(LANES):
        if run[l] < 0:
            continue
        el, gl, bl, m_, w_ = eta[l], g[l], be[l], mu[l], wd[l]
        pg[l], pbe[l], ploss[l], pbg[l], pbbe[l] = gl, bl, loss[l], bg[l], bbe[l]
        bound = (1.0 + m_) / (1.0 + 2.0 * m_) if nesterov else 1.0 + m_
        cd, cb = (el, el * m_) if nesterov else (0.0, el)  # the step lr (d + mu b), or lr b
        if method == GD:  # x: gradient r (null part 0)
            md[l] = max(md[l], el / bound)
            for j in range(kp):
                c = cur[l, j]
                d = R[l, j] + w_ * c
                bn = m_ * bcur[l, j] + d
                bnxt[l, j] = bn
                nxt[l, j] = c - (cd * d + cb * bn)
            be[l], bbe[l] = _sgd_rule(bl, 0.0, bbe[l], el, m_, w_, nesterov)
        elif method == WN:  # w: (g/||w||)(r - u p), null part -(g/||w||) q beta; g: p
            kk, q = k[l], ps[l] * inw[l]
            md[l] = max(md[l], el * kk * kk / bound)
            cc = w_ - kk * q  # (d = kk (r - q c) + wd c)
            acc = 0.0
            for j in range(kp):
                c = cur[l, j]
                d = kk * R[l, j] + cc * c
                bn = m_ * bcur[l, j] + d
                bnxt[l, j] = bn
                v = c - (cd * d + cb * bn)
                nxt[l, j] = v
                acc += v * v
            be[l], bbe[l] = _sgd_rule(bl, -kk * q * bl, bbe[l], el, m_, w_, nesterov)
            nw2[l] = acc + be[l] * be[l]
            g[l], bg[l] = _sgd_rule(gl, ps[l], bg[l], gam[l], m_, w_, nesterov)
        else:  # rPGD: w: g r (null part 0), then w / ||w||; g: w.r
            md[l] = max(md[l], el * gl * gl / bound)
            acc = 0.0
            for j in range(kp):
                c = cur[l, j]
                d = gl * R[l, j] + w_ * c
                bn = m_ * bcur[l, j] + d
                bnxt[l, j] = bn
                v = c - (cd * d + cb * bn)
                nxt[l, j] = v
                acc += v * v
            bv, bbe[l] = _sgd_rule(bl, 0.0, bbe[l], el, m_, w_, nesterov)
            inv = 1.0 / np.sqrt(acc + bv * bv)
            for j in range(kp):
                nxt[l, j] *= inv
            be[l] = bv * inv
            g[l], bg[l] = _sgd_rule(gl, pd[l], bg[l], gam[l], m_, w_, nesterov)
        t[l] += 1


@_jit
def advance(ints, flts, s, b, US, y, rn2, a_star, eta_tab, gam_tab, ids, seeds, A, PA, BA, PBA, per, iper, hist,
            last_rec):
    """Advance runs ``ids`` (rows of the per-run arrays) from step ``t0`` until they stop or reach
    ``t_end``; see :func:`wnlab.engine.compiled.run` for the arguments.

    With ``sgd`` (``ints[15]``), every parameter moves by :class:`wnlab.methods.optim.SGD`'s rule
    (Nesterov's form if ``ints[16]``), with per-run momentum ``MU`` and weight decay ``WD``; the
    buffers are ``BA`` (coordinates), ``BBE`` (null coefficient) and ``BG`` (the scale), and
    ``PBA``/``PBG``/``PBBE`` the previous ones (kept, like the state, for a diverged run)."""
    method, kind, max_iter, t0, t_end, every, h0, bs, norm = ints[:9]
    e_st, e_si, e_mode, g_st, g_si, g_mode, sgd, nesterov = ints[9:]
    tol, zero_loss, g_scale, grad_scale = flts
    G, BE, PG, PBE, PLOSS, LIMIT, MAXDIR, LOSS, SLOSS, ETA, GAM, MU, WD, BG, BBE, PBG, PBBE = per
    NIT, TSTOP, CODE = iper
    kp = A.shape[1]
    m = US.shape[0]
    n = ids.shape[0]
    cur = np.zeros((LANES, kp))
    nxt = np.zeros((LANES, kp))
    bcur = np.zeros((LANES, kp))  # momentum buffers of the coordinates (current, previous)
    bnxt = np.zeros((LANES, kp))
    R = np.zeros((LANES, kp))
    xa = np.zeros(kp)
    z = np.zeros(m)
    lp = np.zeros(m)
    keys = np.zeros(m, dtype=np.uint64)
    work = np.zeros(m, dtype=np.uint64)
    rows = np.zeros(m, dtype=np.int64)
    rec = np.zeros(N_REC)
    run = np.full(LANES, -1)
    pos = np.zeros(LANES, dtype=np.int64)
    t = np.zeros(LANES, dtype=np.int64)
    g, be, nw2, k = np.zeros(LANES), np.zeros(LANES), np.ones(LANES), np.zeros(LANES)
    pg, pbe, ploss, lim, md = np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES)
    loss, pd, ps, inw = np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES)
    eta, gam = np.zeros(LANES), np.zeros(LANES)
    mu, wd, bg, bbe, pbg, pbbe = (np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES),
                                  np.zeros(LANES), np.zeros(LANES))
    nxt_pos = 0
    while True:
        # 1. evaluate every running lane at its current point; pause the runs that reached t_end
        for l in range(LANES):  # (loops over lanes alone are vectorised over lanes)
            inw[l] = 1.0 / np.sqrt(nw2[l])
        if method == WN:
            for l in range(LANES):
                k[l] = g[l] * inw[l]
        else:
            for l in range(LANES):
                k[l] = 1.0 if method == GD else g[l]
        for l in range(LANES):
            i = run[l]
            if i < 0:
                continue
            if t[l] == t_end:
                for j in range(kp):
                    A[i, j] = cur[l, j]
                    PA[i, j] = nxt[l, j]
                G[i], BE[i], PG[i], PBE[i], PLOSS[i], MAXDIR[i] = g[l], be[l], pg[l], pbe[l], ploss[l], md[l]
                LIMIT[i] = lim[l]
                if sgd:
                    for j in range(kp):
                        BA[i, j] = bcur[l, j]
                        PBA[i, j] = bnxt[l, j]
                    BG[i], BBE[i], PBG[i], PBBE[i] = bg[l], bbe[l], pbg[l], pbbe[l]
                run[l] = -1
                continue
            kl = k[l]
            if kind == LSQ and bs == 0:  # the common case, in line: e = s * x - b, r = s * e
                ls = 0.0
                ds = 0.0
                for j in range(kp):
                    c = cur[l, j]
                    e = s[j] * (kl * c) - b[j]
                    ls += e * e
                    r = e * s[j]
                    R[l, j] = r
                    ds += c * r
                loss[l], pd[l] = 0.5 * ls, ds
            else:
                loss[l], pd[l] = _evaluate(l, kl, cur, R, xa, z, lp, keys, work, rows, kind, s, b, US, y,
                                           rn2, bs, norm, seeds[i], t[l])
        for l in range(LANES):
            ps[l] = pd[l] * inw[l] if method == WN else pd[l]
        # 2. decide (stopping.stop_code); a lane whose run stopped takes the next run of the chunk
        n_running = 0
        for l in range(LANES):
            while True:
                if run[l] < 0:
                    if nxt_pos == n:
                        break
                    i = ids[nxt_pos]
                    run[l], pos[l], t[l] = i, nxt_pos, t0
                    nxt_pos += 1
                    acc = BE[i] * BE[i]
                    for j in range(kp):
                        cur[l, j] = A[i, j]
                        nxt[l, j] = PA[i, j]
                        acc += A[i, j] * A[i, j]
                    g[l], be[l], nw2[l], pg[l], pbe[l], ploss[l] = G[i], BE[i], acc, PG[i], PBE[i], PLOSS[i]
                    lim[l], md[l] = LIMIT[i], MAXDIR[i]
                    if sgd:
                        for j in range(kp):
                            bcur[l, j] = BA[i, j]
                            bnxt[l, j] = PBA[i, j]
                        bg[l], bbe[l], pbg[l], pbbe[l], mu[l], wd[l] = BG[i], BBE[i], PBG[i], PBBE[i], MU[i], WD[i]
                    inw[l] = 1.0 / np.sqrt(acc)
                    k[l] = 1.0 if method == GD else (g[l] * inw[l] if method == WN else g[l])
                    loss[l], pd[l] = _evaluate(l, k[l], cur, R, xa, z, lp, keys, work, rows, kind, s, b, US, y,
                                               rn2, bs, norm, seeds[i], t[l])
                    ps[l] = pd[l] * inw[l] if method == WN else pd[l]
                i, tl, gl = run[l], t[l], g[l]
                if tl == 0:
                    lim[l] = divergence_limit(loss[l], zero_loss)
                last = tl == max_iter
                if last:
                    e = gm = 0.0
                else:
                    e = eta_tab[(tl - t0) * e_st + i * e_si]
                    e = e / (gl * gl) if e_mode == 1 else e
                    gm = gam_tab[(tl - t0) * g_st + i * g_si]
                    gm = gm / (gl * gl) if g_mode == 1 else (gm * e if g_mode == 2 else gm)
                eta[l], gam[l] = e, gm
                # Lemma 2.3 (exact zeros: STALL_RTOL = 0) needs ||r|| only where g = 0
                stalled = method != GD and on_stationary_set(gl, 0.0, 0.0, gm, last, g_scale, grad_scale,
                                                             STALL_RTOL)
                if stalled:
                    rr = 0.0
                    bb = bg[l] * bg[l] + bbe[l] * bbe[l]
                    for j in range(kp):
                        rr += R[l, j] * R[l, j]
                        bb += bcur[l, j] * bcur[l, j]
                    moving = (sgd != 0) and (mu[l] > 0) and (bb > 0)  # (Method.pending)
                    stalled = on_stationary_set(gl, ps[l], np.sqrt(rr), gm, last, g_scale, grad_scale,
                                                stopping.STALL_RTOL, moving)
                c = stop_code(loss[l], lim[l], tol, stalled, last, np.isfinite(e) and np.isfinite(gm))
                if every > 0 and (tl % every == 0 or c >= 0):
                    _record(rec, method, loss[l], g[l], k[l], be[l], cur, l, a_star, nxt, pbe[l], tl == 0)
                    if tl % every == 0:
                        hist[pos[l], (tl - h0) // every, :] = rec
                    if c >= 0:
                        last_rec[i, :] = rec
                if c < 0:
                    n_running += 1
                    break
                # the run stopped: write it out, keeping the last finite iterate if it diverged
                CODE[i], TSTOP[i], SLOSS[i], ETA[i], GAM[i], MAXDIR[i] = c, tl, loss[l], eta[l], gam[l], md[l]
                finite = np.isfinite(g[l]) and np.isfinite(be[l]) and np.isfinite(loss[l])
                for j in range(kp):
                    finite = finite and np.isfinite(cur[l, j])
                back = c == DIVERGED and tl > 0 and not finite
                src = nxt if back else cur
                for j in range(kp):
                    A[i, j] = src[l, j]
                G[i], BE[i] = (pg[l], pbe[l]) if back else (g[l], be[l])
                NIT[i], LOSS[i] = (tl - 1, ploss[l]) if back else (tl, loss[l])
                if sgd:
                    bsrc = bnxt if back else bcur
                    for j in range(kp):
                        BA[i, j] = bsrc[l, j]
                    BG[i], BBE[i] = (pbg[l], pbbe[l]) if back else (bg[l], bbe[l])
                run[l] = -1
        if n_running == 0 and nxt_pos == n:
            break
        # 3. one step for every running lane: methods.GD / WN / RPGD.step, into nxt
        if sgd:
            _sgd_steps(method, nesterov, run, cur, nxt, bcur, bnxt, R, eta, gam, g, be, nw2, k, inw, pd, ps, loss,
                       pg, pbe, ploss, md, mu, wd, bg, bbe, pbg, pbbe, t)
            cur, nxt = nxt, cur
            bcur, bnxt = bnxt, bcur
            continue
        for l in range(LANES):
            if run[l] < 0:
                continue
            el, gl, bl = eta[l], g[l], be[l]
            pg[l], pbe[l], ploss[l] = gl, bl, loss[l]
            if method == GD:
                md[l] = max(md[l], el)
                for j in range(kp):
                    nxt[l, j] = cur[l, j] - el * R[l, j]
            elif method == WN:
                p = ps[l]
                kk = el * k[l]
                q = p * inw[l]
                md[l] = max(md[l], el * k[l] * k[l])
                acc = 0.0
                for j in range(kp):
                    c = cur[l, j]
                    v = c + kk * (c * q - R[l, j])
                    nxt[l, j] = v
                    acc += v * v
                be[l] = bl * (1.0 + kk * q)
                nw2[l] = acc + be[l] * be[l]
                g[l] = gl - gam[l] * p
            else:
                md[l] = max(md[l], el * gl * gl)
                f = el * gl
                acc = 0.0
                for j in range(kp):
                    v = cur[l, j] - f * R[l, j]
                    nxt[l, j] = v
                    acc += v * v
                nv = np.sqrt(acc + bl * bl)
                for j in range(kp):
                    nxt[l, j] /= nv
                be[l] = bl / nv
                g[l] = gl - gam[l] * pd[l]
            t[l] += 1
        cur, nxt = nxt, cur
