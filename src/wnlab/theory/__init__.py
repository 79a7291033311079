"""The paper's statements: closed forms (:mod:`.statements`, re-exported here), the flows
(:mod:`.flow`) and the checks of ``wnlab verify`` (:mod:`.verify`, :mod:`.verify_beyond`,
:mod:`.verify_rows`)."""

from .statements import *  # noqa: F403
from .statements import __all__  # noqa: F401
