"""The paper's statements: closed forms (:mod:`.statements`, re-exported here), the flows
(:mod:`.flow`), batch normalization's limit (:mod:`.bn`), adaptive methods' limit (:mod:`.adaptive`),
weight decay's equilibrium (:mod:`.weight_decay`) and the checks of ``wnlab verify``
(:mod:`.verify`, :mod:`.verify_beyond`, :mod:`.verify_rows`)."""

from .adaptive import AdaptiveLimit, adaptive_limit
from .bn import BNLimit, bn_limit
from .statements import *  # noqa: F403
from .statements import __all__ as _statements_all
from .weight_decay import equilibrium_turn, relaxation_steps, step_turn

__all__ = [*_statements_all, "BNLimit", "bn_limit", "AdaptiveLimit", "adaptive_limit", "equilibrium_turn",
           "relaxation_steps", "step_turn"]
