"""What is solved: least-squares problems and their generators (:mod:`.linear`), losses of ``Ax``
beyond least squares (:mod:`.losses`), exact-in-law sampling (:mod:`.sampling`), matrix-free ``A``
(:mod:`.linop`), random starts (:mod:`.starts`) and problems from plain specs (:mod:`.spec`)."""

from .linear import (
    LeastSquares,
    LinearModel,
    gaussian_problem,
    load_problem,
    orthonormal_problem,
    paper_example,
    wilson_problem,
)

__all__ = ["LeastSquares", "LinearModel", "gaussian_problem", "orthonormal_problem", "paper_example", "wilson_problem",
           "load_problem"]
