"""A method of your own, without touching wnlab: GD with heavy-ball (Polyak) momentum.

    x+ = x - eta v+,   v+ = mu v + A^T (A x - y),   v0 = 0.

The buffer ``v`` is a sum of gradients, so it lies in the row space of ``A``: stored like every
other vector as ``V a + beta n``, its null coefficient stays 0 and the reduced engine is exact.
Get it and run it:  wnlab example heavy-ball > heavy_ball.py && python heavy_ball.py
"""

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np

import wnlab
from wnlab.methods import Method, register


class HeavyBallState(NamedTuple):
    a: np.ndarray      # x = V a + beta n
    beta: np.ndarray
    v: np.ndarray      # the momentum buffer, coordinates in the same basis (no null part)


@register
@dataclass(frozen=True)
class HeavyBall(Method):
    name: ClassVar[str] = "heavy-ball"
    parametrization: ClassVar[str] = "x"   # starts from a point x0 (no scale g)
    has_scale: ClassVar[bool] = False      # so it takes eta only
    mu: float = 0.9                        # a hyper-parameter: solve(..., mu=0.5)

    def init(self, g, a, beta):
        return HeavyBallState(a, beta, a * 0.0)

    def point(self, state):
        return state.a, state.beta

    def step(self, state, r, eta, gamma, problem):
        v = state.v * self.mu + r
        return HeavyBallState(state.a - v * eta[:, None], state.beta, v)


if __name__ == "__main__":
    p = wnlab.gaussian_problem(20, 200, seed=0)
    x0s = np.random.default_rng(1).normal(scale=0.1, size=(100, p.d))
    runs: list[tuple[str, dict]] = [("gd", {}), ("heavy-ball", {"mu": 0.8})]
    for name, kw in runs:
        for engine in ("reduced", "full"):
            b = wnlab.solve_batch(p, name, x0s=x0s, eta=0.05, engine=engine, **kw)
            print(f"{name:10s} {engine:7s}: mean steps {b.n_iter.mean():7.1f}, "
                  f"mean ||x - x*|| {b.dist.mean():.6f}, all converged: {b.converged.all()}")
