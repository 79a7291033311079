"""Methods as plug-ins: the protocol and registry (:mod:`.base`), the paper's methods (:mod:`.paper`),
batch normalization (:mod:`.bn`) and the adaptive methods Adam, AdamW, RMSprop, Adagrad (:mod:`.adam`)."""

from .adam import Adagrad, Adam, AdamState, AdamW, RMSprop, SquaresState
from .base import GDState, Method, Param, Then, WNState, example, get_method, load_plugin, names, parameters, register
from .bn import BN, BNState
from .optim import SGD, Optimized, with_optimizer
from .paper import GD, METHODS, RPGD, WN

__all__ = ["GDState", "WNState", "Method", "GD", "WN", "RPGD", "Then", "Param", "SGD", "Optimized", "with_optimizer",
           "register", "get_method", "names", "example", "parameters", "load_plugin", "METHODS",
           "BN", "BNState", "Adam", "AdamW", "AdamState", "RMSprop", "Adagrad", "SquaresState"]
