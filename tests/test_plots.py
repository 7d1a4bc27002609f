"""Pictures: valid PNGs of the documented pixel size; `nnctl plot`; a clear error without matplotlib."""

import sys

import pytest
from helpers import invoke, make_run

from nnctl.core.errors import ConfigError, DataError
from nnctl.results import load_run, plots
from nnctl.training import RunConfig, prepare
from nnctl.training.lr_find import find_lr, range_test

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_shape(path):
    data = path.read_bytes()
    assert data[:8] == SIGNATURE
    try:
        from PIL import Image

        with Image.open(path) as im:
            return im.size[1], im.size[0]
    except ImportError:
        import matplotlib.image

        return matplotlib.image.imread(str(path)).shape[:2]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """Kept beside conftest's a_run: a 4-epoch mlp:16, and test_plot_command writes curves.png into it."""
    root = tmp_path_factory.mktemp("results")
    make_run(root, model="mlp:16", epochs=4)
    (path,) = list(root.iterdir())
    return path


def test_curves_png(run_dir, tmp_path):
    out = plots.plot_curves(load_run(run_dir), tmp_path / "c.png")
    assert png_shape(out) == (450, 1100)


def test_regression_curves_plot_mae(tmp_path):
    make_run(tmp_path, "--data", "sine", epochs=2)
    (path,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert png_shape(plots.plot_curves(load_run(path), tmp_path / "r.png")) == (450, 1100)


def test_lr_find_png_single_and_repeats(tmp_path):
    one = [range_test(prepare(RunConfig(model="mlp:16")), iters=40)]
    assert png_shape(plots.plot_lr_find(one, tmp_path / "a.png")) == (500, 800)
    tests, stats, _ = find_lr(RunConfig(model="mlp:16"), repeats=2, iters=40)
    assert png_shape(plots.plot_lr_find(tests, tmp_path / "b.png", stats=stats)) == (500, 800)


def test_compare_png(run_dir, tmp_path):
    from nnctl.results.curve_groups import CurveGroups

    rec = load_run(run_dir)
    groups = CurveGroups([("", [("a", [rec]), ("b", [rec])])], None, ["x"], "digits")
    height, width = png_shape(plots.plot_compare(groups, tmp_path / "o.png", "val_loss"))
    assert 300 <= height <= 600 and 500 <= width <= 1200


@pytest.fixture(scope="module")
def sweep_24(tmp_path_factory):
    """3 learning rates × 4 initializers × 2 seeds."""
    root = tmp_path_factory.mktemp("sweep24")
    invoke(
        "sweep",
        "grid",
        "--model",
        "mlp:16",
        "--optimizer",
        "sgd",
        "--epochs",
        "4",
        "-p",
        "lr=0.3,0.03,0.003",
        "-p",
        "init=zeros;normal:std=1;glorot_normal;he_normal",
        "--repeats",
        "2",
        "--results-dir",
        str(root),
        "-q",
        "-w",
        "2",
    )
    return root


@pytest.mark.parametrize("metric", ["val_acc", "val_loss"])
def test_24_trials_give_a_picture_where_every_curve_is_visible_and_the_legend_covers_nothing(sweep_24, metric):
    from nnctl.results import compare, curve_groups

    records = compare.load_runs(compare.resolve_runs(["sweep"], sweep_24))
    frame, keys = compare.runs_table(records, metric)
    groups = curve_groups.curve_groups(records, frame, keys)
    assert groups.facet == "lr" and groups.colour == ["init"]
    assert [p for p, _ in groups.panels] == ["lr=0.003", "lr=0.03", "lr=0.3"]
    assert all(len(lines) == 4 and all(len(runs) == 2 for _, runs in lines) for _, lines in groups.panels)
    fig = plots.compare_figure(groups, metric)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    legend = fig.legends[0].get_window_extent(renderer)
    assert len(axes) == 3 and not any(legend.overlaps(ax.get_window_extent(renderer)) for ax in axes)
    colours = {
        tuple(line.get_color()) if not isinstance(line.get_color(), str) else line.get_color()
        for ax in axes
        for line in ax.get_lines()
    }
    assert len(colours) == 4  # one colour per initializer, none repeated
    for ax in axes:
        solid = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
        assert len(solid) == 4
        low, high = ax.get_ylim()
        for line in solid:  # every epoch after the first is inside the axis
            y = line.get_ydata()[1:]
            assert ((y >= low) & (y <= high)).all(), (ax.get_title(), line.get_color())
    assert "mlp:16" in fig._suptitle.get_text() and metric in fig._suptitle.get_text()


def test_bad_paths(run_dir, tmp_path):
    with pytest.raises(ConfigError, match="must end in .png"):
        plots.plot_curves(load_run(run_dir), tmp_path / "c.jpg")
    with pytest.raises(DataError, match="does not exist"):
        plots.plot_curves(load_run(run_dir), tmp_path / "no" / "c.png")


def test_missing_matplotlib_is_one_clear_error(monkeypatch, run_dir, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(ConfigError, match=r"^plotting needs matplotlib: pip install matplotlib$"):
        plots.plot_curves(load_run(run_dir), tmp_path / "c.png")
    res = invoke("plot", run_dir, expect=2)
    assert res.output.strip() == "error: plotting needs matplotlib: pip install matplotlib"


def test_plot_command(run_dir, tmp_path):
    res = invoke("plot", run_dir.name, "--results-dir", run_dir.parent)
    assert res.output.strip() == str(run_dir / "curves.png")
    assert png_shape(run_dir / "curves.png") == (450, 1100)
    invoke("plot", run_dir, "--out", tmp_path / "x.png")
    assert png_shape(tmp_path / "x.png") == (450, 1100)
    res = invoke("plot", "nope", "--results-dir", run_dir.parent, expect=2)
    assert res.output.startswith("error: unknown run or sweep 'nope'; runs and sweeps in")
