"""Search spaces expand into trials without running anything: grid, random, zip, repeats, spec files."""

from pathlib import Path

import numpy as np
import pytest
from helpers import invoke

from nnctl.core.errors import ConfigError
from nnctl.search import (
    build_space,
    canonical_spec,
    expand,
    merge_specs,
    parse_distribution,
    parse_param,
    read_spec_file,
    split_values,
    sweep_id,
)
from nnctl.search.describe import sampling_note
from nnctl.training import RunConfig

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def space(kind="grid", params=None, **raw):
    return build_space(kind, {"base": raw.pop("base", {"model": "mlp:16", "epochs": 2}), "params": params or {}, **raw})


def flags(*params):
    return dict(parse_param(p) for p in params)


# --- grid ------------------------------------------------------------------------------------------------


def test_grid_counts_contents_and_order():
    s = space(params=flags("lr=0.1,0.01,0.001", "init=zeros,glorot_normal,he_normal"))
    trials = expand(s)
    assert len(trials) == 9
    assert [(t.params["lr"], t.params["init"]) for t in trials[:4]] == [
        (0.1, "zeros"),
        (0.1, "glorot_normal"),
        (0.1, "he_normal"),
        (0.01, "zeros"),
    ]  # first axis slowest
    for t in trials:
        cfg = RunConfig.from_dict(t.config)  # every trial is a complete, valid run configuration
        assert (cfg.lr, cfg.init, cfg.model, cfg.epochs) == (t.params["lr"], t.params["init"], "mlp:16", 2)
        assert len(t.trial_id) == 12 and all(c in "0123456789abcdef" for c in t.trial_id)
    assert len({t.trial_id for t in trials}) == 9


def test_trial_identity_is_the_config_not_the_position():
    a = expand(space(params=flags("lr=0.1,0.01", "init=zeros,he_normal")))
    b = expand(
        space(
            params=flags("init=he_normal,zeros", "lr=0.01,0.1"),
            base={"model": "mlp:16", "epochs": 2, "results_dir": "elsewhere"},
        )
    )
    assert {t.trial_id: t.params for t in a} == {t.trial_id: t.params for t in b}
    assert [t.trial_id for t in a] != [t.trial_id for t in b]  # other order, same identities


def test_value_separators_and_model_strings():
    assert parse_param("lr=0.1,0.01") == ("lr", ["0.1", "0.01"])
    assert parse_param("model=mlp:64;mlp:128,64") == ("model", ["mlp:64", "mlp:128,64"])
    assert parse_param("model=mlp:128,64;") == ("model", ["mlp:128,64"])
    assert parse_param("optimizer=adam:beta1=0.9,beta2=0.99;sgd") == ("optimizer", ["adam:beta1=0.9,beta2=0.99", "sgd"])
    trials = expand(space(params=flags("model=mlp:64;mlp:128,64")))
    assert [t.config["model"] for t in trials] == ["mlp:64", "mlp:128,64"]
    assert split_values(" a , b ,") == ["a", "b"]


@pytest.mark.parametrize(
    "param, message",
    [
        ("lrr=0.1", "did you mean 'lr'"),
        ("name=a,b", "cannot be a sweep axis"),
        ("lr=0.1,0.1", "more than once"),
        ("lr=-1", "lr=-1.0 is out of range"),
        ("epochs=two", "expected an integer"),
        ("lr=loguniform:1e-4:1e-1", "continuous"),
    ],
)
def test_bad_axes_say_what_is_wrong(param, message):
    with pytest.raises(ConfigError, match=message):
        space(params=flags(param))
    with pytest.raises(ConfigError, match="KEY=VALUES"):
        parse_param("lr")


# --- random ----------------------------------------------------------------------------------------------


def test_random_is_deterministic_and_seeded():
    params = flags(
        "lr=loguniform:1e-4:1e-1", "dropout=uniform:0:0.5", "batch_size=int:16:64", "init=he_normal,glorot_normal"
    )
    a = expand(space("random", params, trials=12))
    assert [t.params for t in a] == [t.params for t in expand(space("random", params, trials=12))]
    assert [t.params for t in a] != [t.params for t in expand(space("random", params, trials=12, sweep_seed=1))]
    # the order in which axes are given does not change the draws
    reordered = dict(reversed(list(params.items())))
    assert [t.params for t in a] == [t.params for t in expand(space("random", reordered, trials=12))]
    for t in a:
        assert 1e-4 <= t.params["lr"] <= 1e-1 and 0 <= t.params["dropout"] <= 0.5
        assert isinstance(t.params["batch_size"], int) and 16 <= t.params["batch_size"] <= 64


def test_distribution_ranges_and_log_scale():
    rng = np.random.default_rng(0)
    log = parse_distribution("lr", "loguniform:1e-4:1e-1")
    x = np.array([log.sample(rng) for _ in range(3000)])
    assert x.min() >= 1e-4 and x.max() <= 1e-1
    decades = np.histogram(np.log10(x), bins=[-4, -3, -2, -1])[0] / len(x)
    assert np.all(np.abs(decades - 1 / 3) < 0.04), decades  # each decade gets a third
    assert abs(np.mean(np.log10(x)) + 2.5) < 0.05  # log x is uniform on [-4, -1]: mean -2.5
    ints = [parse_distribution("b", "int:1:3").sample(rng) for _ in range(300)]
    assert set(ints) == {1, 2, 3}  # both ends included
    uni = np.array([parse_distribution("d", "uniform:0.2:0.4").sample(rng) for _ in range(1000)])
    assert uni.min() >= 0.2 and uni.max() <= 0.4 and abs(uni.mean() - 0.3) < 0.01
    assert str(parse_distribution("lr", "loguniform:1e-4:1e-1")) == "loguniform:0.0001:0.1"
    for bad in ("loguniform:0:1", "uniform:2:1", "int:1.5:3", "normal:0:1"):
        with pytest.raises(ConfigError):
            parse_distribution("x", bad)


def test_discrete_random_search_never_repeats_and_caps():
    params = flags("lr=0.1,0.01,0.001", "init=zeros,he_normal", "l2=choice:0,0.001", "epochs=int:1:3")
    s = space("random", params, trials=30)
    trials = expand(s)
    points = [tuple(sorted(t.params.items())) for t in trials]
    assert len(points) == len(set(points)) == 30  # 30 of the 3·2·2·3 = 36 points, none twice
    capped = space("random", params, trials=100)
    assert len(expand(capped)) == 36 and "exceeds the 36 distinct points" in sampling_note(capped)
    assert sampling_note(s) is None


# --- zip and repeats -------------------------------------------------------------------------------------


def test_zip_walks_axes_together():
    s = space(params=flags("lr=0.1,0.2,0.4", "batch_size=32,64,128", "init=zeros,he_normal"), zip=["lr,batch_size"])
    pairs = {(t.params["lr"], t.params["batch_size"]) for t in expand(s)}
    assert pairs == {(0.1, 32), (0.2, 64), (0.4, 128)} and len(expand(s)) == 6
    random = expand(
        space("random", flags("lr=0.1,0.2,0.4", "batch_size=32,64,128"), zip=[["lr", "batch_size"]], trials=3)
    )
    assert {(t.params["lr"], t.params["batch_size"]) for t in random} <= pairs
    with pytest.raises(ConfigError, match="equal lengths: lr has 3, batch_size has 2"):
        space(params=flags("lr=0.1,0.2,0.4", "batch_size=32,64"), zip=["lr,batch_size"])
    with pytest.raises(ConfigError, match="not an axis"):
        space(params=flags("lr=0.1,0.2"), zip=["lr,dropout"])
    with pytest.raises(ConfigError, match="is a distribution"):
        space("random", flags("lr=loguniform:1e-3:1e-1", "dropout=0.1,0.2"), zip=["lr,dropout"], trials=2)


def test_repeats_add_seeds_and_share_the_point():
    s = space(params=flags("lr=0.1,0.01"), repeats=3, base={"model": "mlp:16", "seed": 5})
    trials = expand(s)
    assert [t.params["seed"] for t in trials] == [5, 6, 7, 5, 6, 7]
    assert [t.config["seed"] for t in trials] == [5, 6, 7, 5, 6, 7]
    assert len({t.point_id for t in trials}) == 2 and len({t.trial_id for t in trials}) == 6
    with pytest.raises(ConfigError, match="repeats and a 'seed' axis"):
        space(params=flags("seed=1,2"), repeats=2)


# --- identity, spec files and flags ----------------------------------------------------------------------


def test_sweep_id_is_deterministic():
    a = space(params=flags("lr=0.1,0.01"), name="my sweep")
    assert sweep_id(a) == sweep_id(space(params=flags("lr=0.1,0.01"), name="my sweep"))
    assert sweep_id(a).startswith("my-sweep-")
    # an explicit default is the same sweep; another results directory too; another value is not
    same = space(
        params=flags("lr=0.1,0.01"),
        name="my sweep",
        base={"model": "mlp:16", "epochs": 2, "seed": 0, "results_dir": "x"},
    )
    assert sweep_id(same) == sweep_id(a)
    assert sweep_id(space(params=flags("lr=0.1,0.02"), name="my sweep")) != sweep_id(a)
    assert sweep_id(space("random", flags("lr=0.1,0.01"), trials=2)).startswith("sweep-")


def test_toml_spec_equals_the_same_flags(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        'name = "s"\nrepeats = 2\nzip = [["lr", "batch_size"]]\n'
        '[base]\nmodel = "mlp:16"\nepochs = 2\n'
        '[params]\nlr = [0.1, 0.01]\nbatch_size = [32, 64]\nmodel = ["mlp:16", "mlp:32,16"]\n'
        'init = "zeros,he_normal"\n'
    )
    from_file = build_space("grid", merge_specs(read_spec_file(spec), {}))
    from_flags = build_space(
        "grid",
        {
            "name": "s",
            "repeats": "2",
            "zip": ["lr,batch_size"],
            "base": {"model": "mlp:16", "epochs": "2"},
            "params": flags("lr=0.1,0.01", "batch_size=32,64", "model=mlp:16;mlp:32,16", "init=zeros,he_normal"),
        },
    )
    assert canonical_spec(from_file) == canonical_spec(from_flags)
    assert sweep_id(from_file) == sweep_id(from_flags)
    assert [(t.trial_id, t.config) for t in expand(from_file)] == [(t.trial_id, t.config) for t in expand(from_flags)]
    # flags override the file: base key by key, an axis as a whole
    merged = build_space(
        "grid", merge_specs(read_spec_file(spec), {"base": {"epochs": 3}, "params": flags("lr=0.5,0.05")})
    )
    assert merged.base["epochs"] == 3 and merged.params["lr"] == [0.5, 0.05] and merged.base["model"] == "mlp:16"

    by_file = invoke("sweep", "grid", spec, "--dry-run")
    by_flags = invoke(
        "sweep",
        "grid",
        "--dry-run",
        "--name",
        "s",
        "--repeats",
        "2",
        "--zip",
        "lr,batch_size",
        "--model",
        "mlp:16",
        "--epochs",
        "2",
        "-p",
        "lr=0.1,0.01",
        "-p",
        "batch_size=32,64",
        "-p",
        "model=mlp:16;mlp:32,16",
        "-p",
        "init=zeros,he_normal",
    )
    assert by_file.output == by_flags.output and "= 16 trials" in by_file.output


def test_spec_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("repeat = 2\n[params]\nlr = [0.1]\n")
    with pytest.raises(ConfigError, match="unknown key 'repeat'.*did you mean 'repeats'"):
        read_spec_file(bad)
    result = invoke("sweep", "grid", tmp_path / "missing.toml", expect=2)
    assert "does not exist" in result.output


@pytest.mark.parametrize("name, kind", [("init_sweep", "grid"), ("lr_random", "random"), ("zip_batch_lr", "grid")])
def test_example_specs_expand(name, kind):
    s = build_space(kind, merge_specs(read_spec_file(EXPERIMENTS / f"{name}.toml"), {}))
    trials = expand(s)
    assert trials and all(RunConfig.from_dict(t.config) for t in trials)
    assert len({t.trial_id for t in trials}) == len(trials)


def test_zipped_axes_may_repeat_values_but_not_combinations():
    space = build_space(
        "grid", {"params": {"l2": [0.0, 0.01, 0.0], "dropout": [0.0, 0.0, 0.5]}, "zip": [["l2", "dropout"]]}
    )
    assert [(t.params["l2"], t.params["dropout"]) for t in expand(space)] == [(0.0, 0.0), (0.01, 0.0), (0.0, 0.5)]
    with pytest.raises(ConfigError, match="more than once; give each combination once"):
        build_space("grid", {"params": {"l2": [0.0, 0.0], "dropout": [0.5, 0.5]}, "zip": [["l2", "dropout"]]})
    with pytest.raises(ConfigError, match="lists 0.0 more than once"):
        build_space("grid", {"params": {"l2": [0.0, 0.0]}})
