"""wnlab: implicit regularization of weight normalization, exactly and fast.

Reproduces and extends Wu et al., "Implicit Regularization and Convergence for Weight
Normalization" (NeurIPS 2020): gradient descent (GD), weight normalization (WN) and
reparametrized projected gradient descent (rPGD) on overparametrized least squares.
"""

from . import theory
from .status import StabilityWarning, Status
from .flow import FlowResult, flow
from .problem import LeastSquares, gaussian_problem, load_problem, orthonormal_problem, paper_example
from .schedules import InverseGSquared, Sequence, TwoStage
from .solve import ALL_METHODS, BatchResult, Result, solve, solve_batch

__version__ = "0.1.0"

#: submodules loaded on first access (``wnlab.stochastic.solve(...)`` works after ``import wnlab``);
#: ``wnlab.torch`` imports its optional dependency only then (the sweep imports Dask only for a DaskBackend)
_LAZY = ("losses", "stochastic", "sampling", "sweep", "plots", "tables", "verify", "torch", "torch_backend",
         "experiments")


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'wnlab' has no attribute {name!r}")

__all__ = [
    "LeastSquares", "gaussian_problem", "orthonormal_problem", "paper_example", "load_problem",
    "solve", "solve_batch", "Result", "BatchResult", "Status", "StabilityWarning", "ALL_METHODS",
    "TwoStage", "Sequence", "InverseGSquared", "__version__",
    "flow", "FlowResult", "theory",
]
