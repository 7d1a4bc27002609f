"""HTML pages of results: ``nnctl report`` writes them into one self-contained file, ``nnctl view``
serves them live from the results directory. :mod:`.model` builds what the pages show (plain
JSON-able data, every statistic computed in Python), :mod:`.html` puts it into one page,
:mod:`.server` serves it; the page's scripts and style are package data under ``assets/``."""

from .model import ModelBuilder, build_model, to_json

__all__ = ["ModelBuilder", "build_model", "to_json"]
