"""Training: run configuration, composing a run from it, the fit loop and metrics."""

from .config import RunConfig
from .loop import Callback, FitResult, fit
from .setup import Prepared, prepare

__all__ = ["RunConfig", "Callback", "FitResult", "fit", "Prepared", "prepare"]
