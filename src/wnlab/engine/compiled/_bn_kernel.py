"""The compiled loop of batch normalization (:mod:`wnlab.engine.compiled.bn`; imports Numba).

One function, :func:`advance`, moves a chunk of runs from their start to their stop,
:data:`~wnlab.engine.compiled._kernel.LANES` runs at a time like the lane loop of
:mod:`wnlab.engine.compiled._kernel` (whose compiled stop rule, SGD rule and options it uses): the
forward and backward pass of :mod:`wnlab.methods.bn` in reduced coordinates, the stop rule of
:mod:`wnlab.engine.stopping`, then the SGD step (:class:`wnlab.methods.optim.SGD` when ``sgd``).
Least squares with ``U`` square (``kind = LSQ``) gives vectors over the rows as ``U^T`` of them
(``z = s a``, sums over the rows are products with ``ones = U^T 1``: ``O(m)``); another loss of the
outputs (``kind``: the lane loop's ``SQUARED``, ``LOGISTIC``, ``EXPONENTIAL``) forms the outputs
``z = U diag(s) a`` row by row (:func:`_evaluate_rows`, ``O(mk)``).
"""

from __future__ import annotations

import numpy as np

from ..stopping import DIVERGED, STALL_RTOL
from ._kernel import (
    LANES,
    LSQ,
    N_REC,
    WN,
    _jit,
    _loss_and_deriv,
    _record,
    _sgd_rule,
    divergence_limit,
    on_stationary_set,
    stop_code,
)


@_jit
def _evaluate(run, t, cur, s, so, ones, yb, n, eps, center, g, b, sum_y, avg, inv, loss, dg, db):
    """The forward pass of ``methods.bn._forward_backward`` for the running lanes (``run >= 0``):
    ``inv = 1/sigma``, ``loss``, ``dg = dL/dg``, ``db = dL/db``, and the batch mean ``avg`` at
    ``t = 0`` (later steps compute it with the step). ``db = sum(delta) = n b - sum(y)`` (``sum_y``),
    as the normalized outputs sum to zero. Without centering (``center = 0``) the mean stays 0 and
    there is no bias (``db = 0``, so ``b`` stays 0). Passes over the coordinates, each for all lanes
    before the next (their reductions are independent chains), the square roots for all lanes at once."""
    kp = cur.shape[1]
    for l in range(LANES):
        if center and run[l] >= 0 and t[l] == 0:
            acc = 0.0
            for j in range(kp):
                acc += so[j] * cur[l, j]
            avg[l] = acc / n
    for l in range(LANES):
        if run[l] >= 0:
            mu = avg[l]
            acc = 0.0
            for j in range(kp):
                zc = s[j] * cur[l, j] - mu * ones[j]
                acc += zc * zc
            inv[l] = acc
    for l in range(inv.shape[0]):  # (vectorised over the lanes: a constant trip count is unrolled instead)
        inv[l] = 1.0 / np.sqrt(inv[l] / n + eps)
    for l in range(LANES):
        if run[l] >= 0:
            mu, il, bl = avg[l], inv[l], b[l]
            k = g[l] * il
            ls = 0.0
            sg = 0.0
            for j in range(kp):  # d = g zh + b ones - y, zh = zc/sigma
                zc = s[j] * cur[l, j] - mu * ones[j]
                d = k * zc + (bl * ones[j] - yb[j])
                ls += d * d
                sg += d * zc
            loss[l], dg[l], db[l] = 0.5 * ls, sg * il, (n * bl - sum_y) if center else 0.0


@_jit
def _evaluate_rows(run, cur, US, yr, n, eps, center, kind, g, b, avg, inv, loss, dg, db, dw, zb, lp):
    """The forward and backward pass of ``methods.bn._forward_backward`` for a loss of the outputs,
    for the running lanes: the outputs ``z = US a`` row by row (``US = U diag(s)``, ``n x k``), their
    batch mean ``avg`` (0 without centering) and ``inv = 1/sigma``, ``out = g zh + b``, the loss and
    ``delta = l'(out, y)``, ``dg``, ``db`` and ``dL/dw = US^T (g/sigma) (delta - mean(delta) - zh
    mean(delta zh))`` into ``dw[l]`` (``O(nk)``)."""
    kp = cur.shape[1]
    for l in range(LANES):
        if run[l] < 0:
            continue
        acc = 0.0
        for i in range(US.shape[0]):
            zi = 0.0
            for j in range(kp):
                zi += US[i, j] * cur[l, j]
            zb[l, i] = zi
            acc += zi
        mu = acc / n if center else 0.0
        var = 0.0
        for i in range(US.shape[0]):
            zc = zb[l, i] - mu
            var += zc * zc
        il = 1.0 / np.sqrt(var / n + eps)
        gl, bl = g[l], b[l]
        ls = 0.0
        sg = 0.0
        sd = 0.0
        for i in range(US.shape[0]):
            zh = (zb[l, i] - mu) * il
            v, d = _loss_and_deriv(kind, gl * zh + bl, yr[i])
            ls += v
            sg += d * zh
            sd += d
            lp[l, i] = d
        sd = sd if center else 0.0
        avg[l], inv[l], loss[l], dg[l], db[l] = mu, il, ls, sg, sd
        k, cb, cg = gl * il, sd / n, sg / n
        for j in range(kp):
            dw[l, j] = 0.0
        for i in range(US.shape[0]):
            dz = k * (lp[l, i] - cb - (zb[l, i] - mu) * il * cg)
            for j in range(kp):
                dw[l, j] += dz * US[i, j]


@_jit
def _dw(l, cur, dw, s, ones, yb, n, mu, inv, g, b, dg, db):
    """``dL/dw`` of lane ``l`` into ``dw[l]`` (the backward pass; the step computes it in line)."""
    k, cb, cg = g * inv, db / n, dg / n
    for j in range(cur.shape[1]):
        zh = (s[j] * cur[l, j] - mu * ones[j]) * inv
        d = zh * g + b * ones[j] - yb[j]
        dw[l, j] = s[j] * (k * (d - cb * ones[j] - zh * cg))


@_jit
def advance(ints, flts, s, ones, yb, US, yr, a_star, eta, gam, ids, A, MA, per, iout, fout, hist, last_rec):
    """Run the runs ``ids`` (rows of the per-run arrays) to their stops; see
    :func:`wnlab.engine.compiled.bn.run` for the arguments (``US``, ``yr``: the rows and targets of a
    loss of the outputs, ``kind != LSQ``; unused for least squares). The rows of ``A``, ``MA`` and of ``per``
    (``g, beta, b`` and the buffers ``m_beta, m_g, m_b``, settings ``momentum, weight_decay``)
    come back as the final states; with ``every > 0``, ``hist[i, t // every]`` is the record at
    ``t % every == 0`` and ``last_rec[i]`` the one at the stop.

    Each step has three phases over the lanes, as in the lane loop: evaluate every running lane
    (:func:`_evaluate`; an idle lane first takes the next run of the chunk), decide (the stop
    rule), then step every running lane into the other buffer (``nxt``, which afterwards holds
    the previous iterate, kept for a run that diverges). Every run goes through the same
    instructions in whichever lane and chunk it is, so its numbers do not depend on the others."""
    max_iter, sgd, nesterov, every, center, kind = ints
    rows_mode = kind != LSQ
    tol, zero_loss, g_scale, grad_scale, eps, n = flts
    G, BE, BB, MBE, MG, MB, MU, WD = per
    NIT, TSTOP, CODE = iout
    LOSS, SLOSS, MAXDIR, GSTOP, ESTOP, GMSTOP = fout
    kp = A.shape[1]
    n_ids = ids.shape[0]
    ss, so, sy = s * s, s * ones, s * yb
    rn = 1.0 / n
    cur = np.zeros((LANES, kp))
    nxt = np.zeros((LANES, kp))
    bcur = np.zeros((LANES, kp))  # momentum buffers of the coordinates (current, previous)
    bnxt = np.zeros((LANES, kp))
    dw = np.zeros((LANES, kp))
    zb = np.zeros((LANES, US.shape[0]))  # (rows mode: the outputs and loss derivatives of each lane)
    lp = np.zeros((LANES, US.shape[0]))
    rec = np.zeros(N_REC)
    run = np.full(LANES, -1)
    t = np.zeros(LANES, dtype=np.int64)
    g, be, b, mg, mbe, mb = (np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES),
                             np.zeros(LANES), np.zeros(LANES))
    pg, pbe, pb, pmg, pmbe, pmb = (np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES),
                                   np.zeros(LANES), np.zeros(LANES))
    mom, wd, rbound, lim, md = np.zeros(LANES), np.zeros(LANES), np.ones(LANES), np.zeros(LANES), np.zeros(LANES)
    kk, ka, kb = np.zeros(LANES), np.zeros(LANES), np.zeros(LANES)
    avg, inv, loss, dg, db = np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES)
    ploss, e, gm, eta_l, gam_l = np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES), np.zeros(LANES)
    code = np.zeros(LANES, dtype=np.int64)
    sum_y = 0.0  # (the sum over the rows of y)
    for j in range(kp):
        sum_y += ones[j] * yb[j]
    nxt_pos = 0
    while True:
        # 1. an idle lane takes the next run of the chunk; evaluate every running lane at its point
        n_running = 0
        for l in range(LANES):
            if run[l] < 0 and nxt_pos < n_ids:
                i = ids[nxt_pos]
                nxt_pos += 1
                run[l], t[l] = i, 0
                for j in range(kp):
                    cur[l, j] = A[i, j]
                    bcur[l, j] = MA[i, j] if sgd else 0.0
                g[l], be[l], b[l], mbe[l], mg[l], mb[l] = G[i], BE[i], BB[i], MBE[i], MG[i], MB[i]
                mom[l], wd[l], md[l], eta_l[l], gam_l[l] = MU[i], WD[i], 0.0, eta[i], gam[i]
                if sgd:
                    rbound[l] = (1.0 + 2.0 * mom[l]) / (1.0 + mom[l]) if nesterov else 1.0 / (1.0 + mom[l])
            n_running += run[l] >= 0
        if n_running == 0:
            break
        if rows_mode:
            _evaluate_rows(run, cur, US, yr, n, eps, center, kind, g, b, avg, inv, loss, dg, db, dw, zb, lp)
        else:
            _evaluate(run, t, cur, s, so, ones, yb, n, eps, center, g, b, sum_y, avg, inv, loss, dg, db)
        # 2. decide (stopping.stop_code): every lane at once, then in turn the lanes that stop, record,
        # or sit at g = 0 (Lemma 2.3's set S, whose test needs ||dL/dw||); a run that stops frees its lane
        for l in range(code.shape[0]):  # (no branches: vectorised over the lanes)
            last = t[l] == max_iter
            el = 0.0 if last else eta_l[l]
            gml = 0.0 if last else gam_l[l]
            e[l], gm[l] = el, gml
            lim[l] = divergence_limit(loss[l], zero_loss) if t[l] == 0 else lim[l]
            code[l] = stop_code(loss[l], lim[l], tol, False, last, np.isfinite(el) & np.isfinite(gml))
        for l in range(LANES):
            if run[l] < 0:
                continue
            i, tl, gl, el, gml, c = run[l], t[l], g[l], e[l], gm[l], code[l]
            if abs(gl) <= STALL_RTOL * g_scale:
                if not rows_mode:  # (rows mode: dw holds dL/dw already)
                    _dw(l, cur, dw, s, ones, yb, n, avg[l], inv[l], gl, b[l], dg[l], db[l])
                rr = dg[l] * dg[l] + db[l] * db[l]
                bb = mbe[l] * mbe[l] + mg[l] * mg[l] + mb[l] * mb[l]
                for j in range(kp):
                    rr += dw[l, j] * dw[l, j]
                    bb += bcur[l, j] * bcur[l, j]
                moving = (sgd != 0) and (mom[l] > 0) and (bb > 0)  # (Optimized.pending)
                stalled = on_stationary_set(gl, dg[l], np.sqrt(rr), gml, tl == max_iter, g_scale, grad_scale,
                                            STALL_RTOL, moving)
                c = stop_code(loss[l], lim[l], tol, stalled, tl == max_iter, np.isfinite(el) and np.isfinite(gml))
            if every > 0 and (tl % every == 0 or c >= 0):
                _record(rec, WN, loss[l], gl, gl * inv[l], be[l], cur, l, a_star, nxt, pbe[l], tl == 0)
                if tl % every == 0:
                    hist[i, tl // every, :] = rec
                if c >= 0:
                    last_rec[i, :] = rec
            if c < 0:
                continue
            # the run stopped: write it out, keeping the last finite iterate (and loss) if it diverged
            finite = (np.isfinite(gl) and np.isfinite(be[l]) and np.isfinite(b[l]) and np.isfinite(mbe[l])
                      and np.isfinite(mg[l]) and np.isfinite(mb[l]) and np.isfinite(loss[l]))
            for j in range(kp):
                finite = finite and np.isfinite(cur[l, j]) and np.isfinite(bcur[l, j])
            back = c == DIVERGED and tl > 0 and not finite
            CODE[i], TSTOP[i], SLOSS[i], MAXDIR[i] = c, tl, loss[l], md[l]
            GSTOP[i], ESTOP[i], GMSTOP[i] = gl, el, gml
            src, bsrc = (nxt, bnxt) if back else (cur, bcur)
            for j in range(kp):
                A[i, j] = src[l, j]
                if sgd:
                    MA[i, j] = bsrc[l, j]
            if back:
                G[i], BE[i], BB[i], MBE[i], MG[i], MB[i] = pg[l], pbe[l], pb[l], pmbe[l], pmg[l], pmb[l]
                NIT[i], LOSS[i] = tl - 1, ploss[l]
            else:
                G[i], BE[i], BB[i], MBE[i], MG[i], MB[i] = gl, be[l], b[l], mbe[l], mg[l], mb[l]
                NIT[i], LOSS[i] = tl, loss[l]
            run[l] = -1
        # 3. one step for every running lane (methods.bn.BN.step, or Optimized(BN, SGD).step), into nxt,
        # and the batch mean at the new point. With k = g/sigma and zc = s a - mean ones:
        # dL/dw = s k (d - mean(d) ones - zh mean(d zh)) = (k cw s^2) a + (k cc) s ones - k s y,
        # cw = (g - mean(d zh))/sigma, cc = b - mean(d) - cw mean (d = g zh + b ones - y).
        # First the numbers of every lane at once (idle lanes compute unused ones), then the coordinates.
        for l in range(code.shape[0]):  # (no branches: vectorised over the lanes)
            el, gml, gl, bl, il = e[l], gm[l], g[l], b[l], inv[l]
            k = gl * il
            md[l] = max(md[l], el * (k * k) * rbound[l])
            pg[l], pbe[l], pb[l], pmbe[l], pmg[l], pmb[l], ploss[l] = gl, be[l], bl, mbe[l], mg[l], mb[l], loss[l]
            cw = (gl - dg[l] * rn) * il
            kk[l], ka[l], kb[l] = k, k * cw, k * (bl - db[l] * rn - cw * avg[l])
            if sgd:
                m_, w_ = mom[l], wd[l]
                be[l], mbe[l] = _sgd_rule(be[l], 0.0, mbe[l], el, m_, w_, nesterov)
                g[l], mg[l] = _sgd_rule(gl, dg[l], mg[l], gml, m_, w_, nesterov)
                b[l], mb[l] = _sgd_rule(bl, db[l], mb[l], gml, m_, w_, nesterov)
            else:
                g[l] = gl - gml * dg[l]
                b[l] = bl - gml * db[l]
            t[l] += run[l] >= 0
        for l in range(LANES):
            if run[l] < 0:
                continue
            el, k, ka_, kb_ = e[l], kk[l], ka[l], kb[l]
            acc = 0.0
            if rows_mode:  # dL/dw from _evaluate_rows (the next mean comes from the next evaluation)
                m_, w_ = mom[l], wd[l]
                for j in range(kp):
                    if sgd:
                        nxt[l, j], bnxt[l, j] = _sgd_rule(cur[l, j], dw[l, j], bcur[l, j], el, m_, w_, nesterov)
                    else:
                        nxt[l, j] = cur[l, j] - el * dw[l, j]
            elif sgd:
                m_, w_ = mom[l], wd[l]
                for j in range(kp):
                    c = cur[l, j]
                    v, bnxt[l, j] = _sgd_rule(c, ka_ * ss[j] * c + kb_ * so[j] - k * sy[j], bcur[l, j], el, m_, w_,
                                              nesterov)
                    nxt[l, j] = v
                    acc += so[j] * v
            else:
                for j in range(kp):
                    c = cur[l, j]
                    v = c - el * (ka_ * ss[j] * c + kb_ * so[j] - k * sy[j])
                    nxt[l, j] = v
                    acc += so[j] * v
            avg[l] = acc * rn if center else 0.0
        cur, nxt = nxt, cur
        bcur, bnxt = bnxt, bcur
