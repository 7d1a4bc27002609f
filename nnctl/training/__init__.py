"""Training: run configuration, composing a run from it, the fit loop and metrics."""

from .callbacks import Callback, Stop
from .config import RunConfig
from .loop import FitResult, fit
from .setup import Prepared, prepare

__all__ = ["RunConfig", "Callback", "FitResult", "Stop", "fit", "Prepared", "prepare"]
