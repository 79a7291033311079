r"""PyTorch as an array backend (``solve_batch(..., backend="torch")``).

There is no separate torch loop: :func:`wnlab.engine.driver.run` is written against an array namespace
and runs on float64 tensors, on CUDA when available, else on the CPU; the methods' steps use only
operators and ``.sum(-1)``. So ``n_iter`` and ``status`` equal the NumPy driver's and the numbers
agree to rounding (tested to 1e-10). Per step only a "did anything stop?" flag crosses to the
host; finished runs are copied back as they retire, and step-size schedules are evaluated on the
host (constants are uploaded once). History recording is not supported on this backend.

torch and ``array-api-compat`` are optional extras (``pip install 'wnlab[torch]'``), imported
only here and in the driver when a tensor comes in.
"""

from __future__ import annotations

import numpy as np

__all__ = ["torch_module", "default_device", "tensor"]


def torch_module():
    """The ``torch`` module, or a one-line error naming the extra to install."""
    try:
        import array_api_compat  # noqa: F401
        import torch
    except ImportError:
        raise ValueError("backend='torch' needs PyTorch and array-api-compat: pip install 'wnlab[torch]'") from None
    return torch


def default_device() -> str:
    """``"cuda"`` when a GPU is visible to PyTorch, else ``"cpu"``."""
    return "cuda" if torch_module().cuda.is_available() else "cpu"


def tensor(v, device):
    """A float64 tensor copy of ``v`` on ``device``."""
    return torch_module().as_tensor(np.array(v, dtype=np.float64), device=device)
