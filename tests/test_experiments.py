"""Every experiment file runs in its --fast version and its expectation holds (one test per file)."""

import pytest
from helpers import invoke

from nnctl.core.errors import ConfigError, DataError
from nnctl.experiments.expect import Expectation, matches
from nnctl.experiments.runner import run_experiment
from nnctl.experiments.spec import LIBRARY, find_experiment, list_experiments, read_experiment
from nnctl.search import LocalExecutor

FOLDER = LIBRARY
FILES = sorted(p for p in FOLDER.glob("*.toml") if "claim" in p.read_text())


def test_there_is_an_experiment_per_claim():
    assert len(FILES) >= 13
    assert len(list_experiments(FOLDER)) == len(FILES)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fast_experiment_supports_its_claim(path, tmp_path):
    """The fast version runs too few seeds and epochs for a verdict against the noise to be
    expected; its comparisons must hold in the means and the data must not contradict the claim."""
    exp = read_experiment(path)
    outcome = run_experiment(exp, LocalExecutor(workers=2), results_dir=tmp_path, fast=True)
    summary = "; ".join(c.summary() for c in outcome.judgement.comparisons)
    assert all(c.holds for c in outcome.judgement.comparisons), f"{exp.name}: {summary}"
    assert outcome.verdict != "NOT SUPPORTED", f"{exp.name}: {summary}"


def test_cli_run_prints_verdict_and_writes_report(tmp_path):
    result = invoke(
        "experiment",
        "run",
        "cross_entropy_vs_quadratic",
        "--fast",
        "--results-dir",
        tmp_path,
        "--workers",
        "1",
        terminal_width=200,
    )
    assert "SUPPORTED: eval_train_mae[loss=quadratic] > 0.15" in result.output
    assert "exact: the same difference for every seed" in result.output  # a deterministic single neuron
    report = tmp_path / "cross-entropy-vs-quadratic-fast" / "report.md"
    text = report.read_text()
    assert "**SUPPORTED**" in text and "eval_train_mae[loss=quadratic]" in text
    assert "| comparison | left | right | effect |" in text
    assert (report.parent / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_list_shows_every_experiment_on_one_screen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside a checkout: the experiments ship with nnctl
    result = invoke("experiment", "list", terminal_width=80)
    for path in FILES:
        assert path.stem in result.output
    assert len(result.output.splitlines()) <= 40
    details = invoke("experiment", "list", "--details", terminal_width=80)
    assert "expect:" in details.output and "Simard" in details.output


def test_experiments_are_found_by_name_and_a_file_of_yours_comes_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_experiment("zero-init-symmetry").path == LIBRARY / "zero_init_symmetry.toml"
    mine = tmp_path / "experiments" / "zero_init_symmetry.toml"
    mine.parent.mkdir()
    mine.write_text((LIBRARY / "zero_init_symmetry.toml").read_text().replace("Zero initialization", "Mine:"))
    assert find_experiment("zero_init_symmetry").claim.startswith("Mine:")
    with pytest.raises(DataError, match="did you mean 'zero_init_symmetry'"):
        find_experiment("zero_init_symetry")


def test_expectation_grammar():
    rows = [{"init": "zeros", "acc": 0.1}, {"init": "zeros", "acc": 0.3}, {"init": "he_normal", "acc": 0.9}]

    def lookup(sel):
        return [r[sel.metric] for r in rows if matches(r, sel.filters)]

    ok, terms = Expectation("acc[init=he_normal] > acc[init=zeros] * 2 + 0.4").evaluate(lookup)
    assert ok and terms[1].value == pytest.approx(0.2)
    ok, terms = Expectation("acc.max[init=zeros] >= 0.3 and acc.min[init=zeros] < 0.2 or 1 > 2").evaluate(lookup)
    assert ok
    for bad in ["acc >", "acc[init=] > 1", "acc > 1 +", "import os", "acc[init=zeros > 1"]:
        with pytest.raises(ConfigError, match="expectation"):
            Expectation(bad)
    with pytest.raises(ConfigError, match="no trial matches"):
        Expectation("acc[init=ones] > 0").evaluate(lookup)


def test_bad_experiment_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nclaim = "c"\nhypothesis = "h"\nexpect = "a > 1"\nsurprise = 1\n')
    with pytest.raises(ConfigError, match="unknown key"):
        read_experiment(bad)
    bad.write_text('name = "x"\nclaim = "c"\n')
    with pytest.raises(ConfigError, match="hypothesis"):
        read_experiment(bad)
