"""Reading trial files for experiments, and writing an experiment's report (markdown, plot and
``outcome.json``, the same numbers for machines: the report pages read it)."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .formatting import number
from .store import atomic_write_text, write_json

if TYPE_CHECKING:
    import pandas as pd

OUTCOME_JSON = "outcome.json"


def trial_frames(path: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A trial's curve.csv and diagnostics.csv (empty frames when absent)."""
    import pandas as pd

    if path is None:
        return pd.DataFrame(), pd.DataFrame()
    curve = pd.read_csv(path / "curve.csv") if (path / "curve.csv").is_file() else pd.DataFrame()
    diag = pd.read_csv(path / "diagnostics.csv") if (path / "diagnostics.csv").is_file() else pd.DataFrame()
    return curve, diag


def write_report(folder: Path, outcome, groups: list[tuple[str, list[Any]]]) -> Path:
    """Write report.md (claim, verdict against the seed noise, numbers), outcome.json (the same,
    machine-readable, with each group's trials) and curves.png (the mean curve of each group of
    trials with its seed band) into ``folder``."""
    from .plots import plot_experiment

    exp = outcome.experiment
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# {exp.claim}",
        "",
        f"**{outcome.verdict}**"
        + (" (fast version)" if outcome.fast else "")
        + f" — {outcome.seeds} seed{'s' if outcome.seeds != 1 else ''}; each comparison is judged against the "
        "seed-to-seed noise (SUPPORTED / NOT SUPPORTED when a one-sided test at α = 0.05 says so, otherwise "
        "INCONCLUSIVE).",
        "",
        f"> {exp.hypothesis}",
        "",
        f"Source: {exp.source}" if exp.source else "",
        "",
        f"Expectation: `{exp.expect.text}`",
        "",
        "| comparison | left | right | effect | ± noise (s.e.) | n | test | p | verdict |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for c in outcome.judgement.comparisons:
        lines.append(
            f"| `{c.text}` | {number(sum(c.left) / len(c.left))} | {number(sum(c.right) / len(c.right))} | "
            f"{c.effect:+.4g} | {number(c.noise)} | {c.n} | {c.test} | {number(c.p)} | {c.verdict} |"
        )
    lines += ["", "| term | mean | sd over trials | n | values |", "|---|---:|---:|---:|---|"]
    for term in outcome.terms:
        values = [v for v in term.values if not math.isnan(v)]
        sd = statistics.stdev(values) if len(values) > 1 and term.selector.aggregate == "mean" else math.nan
        shown = ", ".join(number(v) for v in term.values[:12]) + (" …" if len(term.values) > 12 else "")
        lines.append(
            f"| `{term.selector.text()}` | {number(term.value)} | {number(sd)} | {len(term.values) or '-'} | {shown} |"
        )
    lines += ["", "Sweeps: " + ", ".join(f"{label}: `{path.name}`" for label, path in outcome.sweeps.items()), ""]
    first = outcome.judgement.comparisons[0] if outcome.judgement.comparisons else None
    subtitle = outcome.verdict + (
        "" if first is None else f" — {first.text}: effect {first.effect:+.3g} ± {number(first.noise)}, n={first.n}"
    )
    if plot_experiment(groups, exp.metrics, folder / "curves.png", exp.claim, subtitle) is not None:
        lines += [f"![{' and '.join(exp.metrics)} per group, mean over seeds with their range](curves.png)", ""]
    write_json(folder / OUTCOME_JSON, outcome_document(folder, outcome, groups))
    path = folder / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path


def outcome_document(folder: Path, outcome, groups: list[tuple[str, list[Any]]]) -> dict[str, Any]:
    """outcome.json: the claim, the expectation, the verdict, each comparison's numbers and the
    trials of each group (their directories relative to the experiment's folder)."""
    exp = outcome.experiment

    def where(path: Path | None) -> str | None:
        if path is None:
            return None
        try:
            return Path(path).resolve().relative_to(Path(folder).resolve()).as_posix()
        except ValueError:
            return str(path)

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else math.nan

    return {
        "generator": "nnctl",
        "experiment": exp.name,
        "claim": exp.claim,
        "hypothesis": exp.hypothesis,
        "source": exp.source,
        "expectation": exp.expect.text,
        "metrics": list(exp.metrics),
        "fast": outcome.fast,
        "seeds": outcome.seeds,
        "verdict": outcome.verdict,
        "alpha": 0.05,
        "comparisons": [
            {
                "text": c.text,
                "op": c.op,
                "left": c.left,
                "right": c.right,
                "left_mean": mean(c.left),
                "right_mean": mean(c.right),
                "effect": c.effect,
                "noise": c.noise,
                "n": c.n,
                "test": c.test,
                "t": c.t,
                "df": c.df,
                "p": c.p,
                "verdict": c.verdict,
                "seeds": [str(s) for s in c.seeds],
            }
            for c in outcome.judgement.comparisons
        ],
        "terms": [{"selector": t.selector.text(), "value": t.value, "values": list(t.values)} for t in outcome.terms],
        "groups": [
            {
                "label": label,
                "trials": [
                    {
                        "trial_id": Path(t.path).name if t.path else None,
                        "path": where(t.path),
                        "seed": t.options.get("seed"),
                    }
                    for t in trials
                ],
            }
            for label, trials in groups
        ],
        "sweeps": {label: where(path) for label, path in outcome.sweeps.items()},
    }
