"""The paper's statements: closed forms (:mod:`.statements`, re-exported here), the flows
(:mod:`.flow`), batch normalization's limit (:mod:`.bn`), adaptive methods' limit (:mod:`.adaptive`)
and the checks of ``wnlab verify`` (:mod:`.verify`, :mod:`.verify_beyond`, :mod:`.verify_rows`)."""

from .adaptive import AdaptiveLimit, adaptive_limit
from .bn import BNLimit, bn_limit
from .statements import *  # noqa: F403
from .statements import __all__ as _statements_all

__all__ = [*_statements_all, "BNLimit", "bn_limit", "AdaptiveLimit", "adaptive_limit"]
