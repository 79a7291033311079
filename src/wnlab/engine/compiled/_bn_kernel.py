"""The compiled loop of batch normalization (:mod:`wnlab.engine.compiled.bn`; imports Numba).

One function, :func:`advance`, runs each of its runs from its start to its stop: the forward and
backward pass of :mod:`wnlab.methods.bn` in reduced coordinates (vectors over the rows given as
``U^T`` of them: ``z = s a``, sums over the rows are products with ``ones = U^T 1``), the stop rule
of :mod:`wnlab.engine.stopping`, then the SGD step (:class:`wnlab.methods.optim.SGD` when ``sgd``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import stopping
from ..driver import HISTORY_KEYS
from ..stopping import DIVERGED

_jit = njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
stop_code = _jit(stopping.stop_code)
on_stationary_set = _jit(stopping.on_stationary_set)
divergence_limit = _jit(stopping.divergence_limit)


@_jit
def _forward_backward(a, s, ones, yb, g, b, eps, n, dw):
    """``methods.bn._forward_backward`` for one run: ``(loss, dL/dg, dL/db, sigma)``, ``dL/dw`` into ``dw``."""
    m = a.shape[0]
    mu = 0.0
    for j in range(m):
        mu += s[j] * a[j] * ones[j]
    mu /= n
    var = 0.0
    for j in range(m):
        zc = s[j] * a[j] - mu * ones[j]
        var += zc * zc
    sigma = np.sqrt(var / n + eps)
    loss = 0.0
    dg = 0.0
    db = 0.0
    for j in range(m):
        zh = (s[j] * a[j] - mu * ones[j]) / sigma
        d = zh * g + b * ones[j] - yb[j]
        loss += d * d
        dg += d * zh
        db += d * ones[j]
    k = g / sigma
    cb, cg = db / n, dg / n
    for j in range(m):
        zh = (s[j] * a[j] - mu * ones[j]) / sigma
        d = zh * g + b * ones[j] - yb[j]
        dw[j] = s[j] * (k * (d - cb * ones[j] - zh * cg))
    return 0.5 * loss, dg, db, sigma


@_jit
def _sgd(x, grad, buf, lr, mu, wd, nesterov):
    """:class:`wnlab.methods.optim.SGD` on one number: ``(new x, new buffer)``."""
    d = grad + wd * x
    bn = mu * buf + d
    return x - lr * ((d + mu * bn) if nesterov else bn), bn


@_jit
def _record(out, loss, g, be, sigma, a, a_star, pa, pbe, first):
    """The history values (``engine.HISTORY_KEYS`` order) at the predictor ``x = (g/sigma) w``; ``pa``,
    ``pbe`` hold the previous ``w`` (``first``: there is none, ``w_turn = 0``)."""
    k = g / sigma
    aa = be * be
    pp = pbe * pbe
    xn2 = 0.0
    d2 = 0.0
    for j in range(a.shape[0]):
        aa += a[j] * a[j]
        pp += pa[j] * pa[j]
        x = k * a[j]
        xn2 += x * x
        d2 += (x - a_star[j]) ** 2
    xb = k * be
    n, pn = np.sqrt(aa), np.sqrt(pp)
    out[0] = loss
    out[1] = g
    out[2] = abs(be) / n
    out[3] = np.sqrt(xn2 + xb * xb)
    out[4] = np.sqrt(d2 + xb * xb)
    out[5] = abs(xb)
    out[6] = n
    c2 = 0.0
    if not first and pn > 0.0 and n > 0.0:
        c2 = (be / n - pbe / pn) ** 2
        for j in range(a.shape[0]):
            c2 += (a[j] / n - pa[j] / pn) ** 2
    out[7] = 2.0 * np.arcsin(min(0.5 * np.sqrt(c2), 1.0))


@_jit
def advance(ints, flts, s, ones, yb, a_star, eta, gam, ids, A, MA, per, iout, fout, hist, last_rec):
    """Run the runs ``ids`` (rows of the per-run arrays) to their stops; see
    :func:`wnlab.engine.compiled.bn.run` for the arguments. The rows of ``A``, ``MA`` and of ``per``
    (``g, beta, b`` and the buffers ``m_beta, m_g, m_b``, settings ``momentum, weight_decay``)
    come back as the final states; with ``every > 0``, ``hist[i, t // every]`` is the record at
    ``t % every == 0`` and ``last_rec[i]`` the one at the stop."""
    max_iter, sgd, nesterov, every = ints
    tol, zero_loss, g_scale, grad_scale, eps = flts
    G, BE, BB, MBE, MG, MB, MU, WD = per
    NIT, TSTOP, CODE = iout
    LOSS, SLOSS, MAXDIR, GSTOP, ESTOP, GMSTOP = fout
    m = A.shape[1]
    n = yb.shape[0] * 0.0 + ones.shape[0]  # (m rows: U is square)
    a = np.zeros(m)
    pa = np.zeros(m)
    ma = np.zeros(m)
    pma = np.zeros(m)
    dw = np.zeros(m)
    rec = np.zeros(len(HISTORY_KEYS))
    for i in ids:
        for j in range(m):
            a[j] = A[i, j]
            ma[j] = MA[i, j] if sgd else 0.0
        g, be, b = G[i], BE[i], BB[i]
        mbe, mg, mb, mu, wd = MBE[i], MG[i], MB[i], MU[i], WD[i]
        bound = ((1.0 + mu) / (1.0 + 2.0 * mu) if nesterov else 1.0 + mu) if sgd else 1.0
        pg = pbe = pb = pmbe = pmg = pmb = ploss = 0.0
        md = 0.0
        lim = 0.0
        t = 0
        while True:
            loss, dg, db, sigma = _forward_backward(a, s, ones, yb, g, b, eps, n, dw)
            if t == 0:
                lim = divergence_limit(loss, zero_loss)
            last = t == max_iter
            e = 0.0 if last else eta[i]
            gm = 0.0 if last else gam[i]
            stalled = False
            if abs(g) <= stopping.STALL_RTOL * g_scale:  # Lemma 2.3's set S (only near g = 0)
                rr = dg * dg + db * db
                bb = mbe * mbe + mg * mg + mb * mb
                for j in range(m):
                    rr += dw[j] * dw[j]
                    bb += ma[j] * ma[j]
                moving = (sgd != 0) and (mu > 0) and (bb > 0)  # (Optimized.pending)
                stalled = on_stationary_set(g, dg, np.sqrt(rr), gm, last, g_scale, grad_scale,
                                            stopping.STALL_RTOL, moving)
            c = stop_code(loss, lim, tol, stalled, last, np.isfinite(e) and np.isfinite(gm))
            if every > 0 and (t % every == 0 or c >= 0):
                _record(rec, loss, g, be, sigma, a, a_star, pa, pbe, t == 0)
                if t % every == 0:
                    hist[i, t // every, :] = rec
                if c >= 0:
                    last_rec[i, :] = rec
            if c >= 0:
                finite = (np.isfinite(g) and np.isfinite(be) and np.isfinite(b) and np.isfinite(mbe)
                          and np.isfinite(mg) and np.isfinite(mb))
                for j in range(m):
                    finite = finite and np.isfinite(a[j]) and np.isfinite(ma[j])
                back = c == DIVERGED and t > 0 and not finite
                CODE[i], TSTOP[i], SLOSS[i], GSTOP[i], ESTOP[i], GMSTOP[i], MAXDIR[i] = c, t, loss, g, e, gm, md
                if back:  # keep the last finite iterate
                    for j in range(m):
                        A[i, j] = pa[j]
                        if sgd:
                            MA[i, j] = pma[j]
                    G[i], BE[i], BB[i], MBE[i], MG[i], MB[i] = pg, pbe, pb, pmbe, pmg, pmb
                    NIT[i], LOSS[i] = t - 1, ploss
                else:
                    for j in range(m):
                        A[i, j] = a[j]
                        if sgd:
                            MA[i, j] = ma[j]
                    G[i], BE[i], BB[i], MBE[i], MG[i], MB[i] = g, be, b, mbe, mg, mb
                    NIT[i], LOSS[i] = t, loss
                break
            k = g / sigma
            md = max(md, e * (k * k) / bound)
            for j in range(m):
                pa[j] = a[j]
                pma[j] = ma[j]
            pg, pbe, pb, pmbe, pmg, pmb, ploss = g, be, b, mbe, mg, mb, loss
            if sgd:
                for j in range(m):
                    d = dw[j] + wd * a[j]
                    bj = mu * ma[j] + d
                    ma[j] = bj
                    a[j] -= e * ((d + mu * bj) if nesterov else bj)
                be, mbe = _sgd(be, 0.0, mbe, e, mu, wd, nesterov)
                g, mg = _sgd(g, dg, mg, gm, mu, wd, nesterov)
                b, mb = _sgd(b, db, mb, gm, mu, wd, nesterov)
            else:
                for j in range(m):
                    a[j] -= e * dw[j]
                g -= gm * dg
                b -= gm * db
            t += 1
