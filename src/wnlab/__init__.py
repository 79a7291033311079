"""wnlab: implicit regularization of weight normalization, exactly and fast.

Reproduces and extends Wu et al., "Implicit Regularization and Convergence for Weight
Normalization" (NeurIPS 2020): gradient descent (GD), weight normalization (WN) and
reparametrized projected gradient descent (rPGD) on overparametrized least squares.

The package is layered (docs/architecture.md): ``problems`` (what is solved), ``methods`` (what a
step does), ``engine`` (how runs are driven and stopped), ``theory`` (the paper's statements and
flows), ``sweep`` and ``experiments`` (many runs, the paper's figures), ``io`` (tables, plots),
``bridges`` (PyTorch) and ``cli`` (the ``wnlab`` command).
"""

from . import methods, theory
from .engine.schedules import InverseGSquared, Sequence, TwoStage
from .engine.solve import ALL_METHODS, BatchResult, Result, check_run, solve, solve_batch
from .engine.status import StabilityWarning, Status
from .problems import LeastSquares, gaussian_problem, load_problem, orthonormal_problem, paper_example, wilson_problem
from .theory.flow import FlowResult, flow

__version__ = "0.1.0"

#: short names of modules, loaded on first access (``wnlab.stochastic.solve(...)`` works after
#: ``import wnlab``; ``wnlab.torch`` imports PyTorch and
#: ``wnlab.sklearn`` scikit-learn only then)
_ALIASES = {
    "losses": "problems.losses", "sampling": "problems.sampling", "stochastic": "engine.stochastic",
    "schedules": "engine.schedules", "plots": "io.plots", "tables": "io.tables", "verify": "theory.verify",
    "torch": "bridges.torch", "sklearn": "bridges.sklearn", "torch_backend": "engine.torch_backend", "sweep": "sweep",
    "experiments": "experiments", "params": "params",
}


def __getattr__(name):
    if name in _ALIASES:
        import importlib

        return importlib.import_module(f"{__name__}.{_ALIASES[name]}")
    raise AttributeError(f"module 'wnlab' has no attribute {name!r}")


class _AliasFinder:
    """``import wnlab.sklearn`` / ``from wnlab.stochastic import kaczmarz``: the import system finds a
    short name of :data:`_ALIASES` as the module it stands for (loaded only then), the same object
    as the attribute ``wnlab.<name>``."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        prefix, _, name = fullname.partition(".")
        if prefix != __name__ or name not in _ALIASES:
            return None
        import importlib.util

        return importlib.util.spec_from_loader(fullname, _AliasFinder)

    @staticmethod
    def create_module(spec):
        import importlib

        module = importlib.import_module(f"{__name__}.{_ALIASES[spec.name.partition('.')[2]]}")
        spec.loader_state = module.__spec__
        return module

    @staticmethod
    def exec_module(module):
        """Nothing to run (the module ran under its own name); give it back its own spec, which the
        import system has just replaced with the alias's (``importlib.reload`` needs the real one)."""
        module.__spec__ = module.__spec__.loader_state


def _install_alias_finder():
    import sys

    if not any(f is _AliasFinder for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder)


_install_alias_finder()


__all__ = [
    "LeastSquares", "gaussian_problem", "orthonormal_problem", "paper_example", "wilson_problem", "load_problem",
    "solve", "solve_batch", "check_run", "Result", "BatchResult", "Status", "StabilityWarning", "ALL_METHODS",
    "TwoStage", "Sequence", "InverseGSquared", "__version__",
    "flow", "FlowResult", "theory", "methods",
]
