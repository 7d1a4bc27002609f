"""Data augmentation ops and pipelines: contracts, exact properties, parsing and errors."""

import numpy as np
import pytest

from nnctl.core.errors import ConfigError, SpecError, UnknownComponentError
from nnctl.data.augment import AUGMENTATIONS, Mixup, Pipeline, parse_augmentations
from nnctl.data.image_geometry import about_centre, gaussian_matrix, shift_images

# every op with settings that change every batch
OPS = [
    "shift:pixels=1",
    "translate:2",
    "crop:padding=2",
    "rotate:degrees=15",
    "scale:low=0.9,high=1.1",
    "flip:p=0.5",
    "brightness:delta=0.2",
    "contrast:low=0.8,high=1.2",
    "noise:std=0.1",
    "cutout:size=2,p=1.0",
    "elastic:alpha=8,sigma=3",
]


def images(dtype=np.float32, shape=(16, 2, 8, 9), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_every_registered_op_is_covered():
    covered = {type(AUGMENTATIONS.get(s)).name for s in OPS} | {"mixup"}
    assert covered == set(AUGMENTATIONS.names())


@pytest.mark.parametrize("spec", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_op_contract_shape_dtype_determinism_and_input_untouched(spec, dtype):
    op = AUGMENTATIONS.get(spec)
    X = images(dtype)
    before = X.copy()
    out = op(X, np.random.default_rng(1))
    assert out.shape == X.shape and out.dtype == X.dtype
    assert not np.may_share_memory(out, X)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(out, op(X, np.random.default_rng(1)))
    assert not np.array_equal(out, op(X, np.random.default_rng(2)))
    assert not np.array_equal(out, X)


def test_shift_images_moves_a_pixel_by_the_given_offsets():
    X = np.zeros((3, 1, 7, 7), np.float32)
    X[:, 0, 3, 3] = 1.0
    out = shift_images(X, np.array([2, -1, 0]), np.array([0, 3, -3]))
    for n, (r, c) in enumerate([(5, 3), (2, 6), (3, 0)]):
        assert out[n, 0, r, c] == 1.0 and out[n].sum() == 1.0


def test_shift_fills_with_zeros_and_keeps_the_content_order():
    X = np.arange(1, 26, dtype=np.float64).reshape(1, 1, 5, 5)
    out = shift_images(X, np.array([1]), np.array([-2]))
    np.testing.assert_array_equal(out[0, 0, 0], 0)
    np.testing.assert_array_equal(out[0, 0, :, 3:], 0)
    np.testing.assert_array_equal(out[0, 0, 1:, :3], X[0, 0, :4, 2:])


@pytest.mark.parametrize("spec,k", [("shift:2", 2), ("crop:1", 1)])
def test_shift_and_crop_are_whole_pixel_translations_within_range(spec, k):
    X = images(np.float64, shape=(12, 1, 6, 6), seed=3)
    out = AUGMENTATIONS.get(spec)(X, np.random.default_rng(4))
    offsets = [(dy, dx) for dy in range(-k, k + 1) for dx in range(-k, k + 1)]
    seen = set()
    for n in range(len(X)):
        match = [o for o in offsets if np.array_equal(out[n : n + 1], shift_images(X[n : n + 1], [o[0]], [o[1]]))]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) > 1


def test_flip_twice_is_identity_and_flips_horizontally():
    X = images()
    flip = AUGMENTATIONS.get("flip:p=1")
    once = flip(X, np.random.default_rng(0))
    np.testing.assert_array_equal(once, X[..., ::-1])
    np.testing.assert_array_equal(flip(once, np.random.default_rng(1)), X)
    np.testing.assert_array_equal(AUGMENTATIONS.get("flip:p=0")(X, np.random.default_rng(0)), X)


@pytest.mark.parametrize(
    "spec",
    ["rotate:degrees=0", "elastic:alpha=0", "noise:std=0", "scale:low=1,high=1", "brightness:0", "cutout:p=0"],
)
def test_zero_strength_ops_are_identity(spec):
    X = images(np.float64)
    np.testing.assert_array_equal(AUGMENTATIONS.get(spec)(X, np.random.default_rng(0)), X)


def test_contrast_one_is_identity_and_contrast_keeps_each_mean():
    X = images(np.float64)
    np.testing.assert_allclose(AUGMENTATIONS.get("contrast:1,1")(X, np.random.default_rng(0)), X, atol=1e-12)
    out = AUGMENTATIONS.get("contrast:0.5,1.5")(X, np.random.default_rng(0))
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), X.mean(axis=(1, 2, 3)), atol=1e-12)


def test_brightness_adds_one_bounded_constant_per_sample():
    X = images(np.float64)
    diff = AUGMENTATIONS.get("brightness:delta=0.3")(X, np.random.default_rng(0)) - X
    per_sample = diff.reshape(len(X), -1)
    np.testing.assert_allclose(per_sample - per_sample[:, :1], 0, atol=1e-12)
    assert np.all(np.abs(per_sample) <= 0.3)


def test_rotation_by_90_degrees_about_the_centre_matches_rot90():
    X = images(np.float64, shape=(2, 1, 5, 5))
    quarter = np.array([[[0.0, -1.0], [1.0, 0.0]]] * 2)  # source = R·(p − c) + c: a clockwise turn
    np.testing.assert_allclose(about_centre(X, quarter), np.rot90(X, k=-1, axes=(2, 3)), atol=1e-12)


def test_bilinear_sampling_interpolates_between_pixels():
    X = np.zeros((1, 1, 1, 4))
    X[0, 0, 0] = [0.0, 10.0, 20.0, 30.0]
    half = np.array([[[0.5, 0.0], [0.0, 0.5]]])  # zoom ×2 about the centre (column 1.5)
    out = about_centre(X, half)
    np.testing.assert_allclose(out[0, 0, 0], [7.5, 12.5, 17.5, 22.5])


def test_cutout_zeros_exactly_a_size_squared_square_per_channel():
    X = np.abs(images(np.float64)) + 1.0  # no zeros before
    out = AUGMENTATIONS.get("cutout:size=3,p=1")(X, np.random.default_rng(0))
    zeros = out == 0
    assert np.all(zeros.sum(axis=(2, 3)) == 9)
    np.testing.assert_array_equal(zeros[:, 0], zeros[:, 1])  # same square in every channel
    rows, cols = zeros[:, 0].any(axis=2), zeros[:, 0].any(axis=1)
    assert np.all(rows.sum(axis=1) == 3) and np.all(cols.sum(axis=1) == 3)
    np.testing.assert_array_equal(out[~zeros], X[~zeros])


def test_elastic_displacements_are_smooth_and_scaled_by_alpha():
    G = gaussian_matrix(10, 2.0)
    np.testing.assert_allclose(G.sum(axis=1), 1.0)  # reflecting borders keep the mass
    np.testing.assert_array_equal(gaussian_matrix(4, 0.0), np.eye(4))
    X = images(np.float64, shape=(4, 1, 12, 12))
    small = AUGMENTATIONS.get("elastic:alpha=1,sigma=3")(X, np.random.default_rng(0))
    large = AUGMENTATIONS.get("elastic:alpha=30,sigma=3")(X, np.random.default_rng(0))
    assert 0 < np.abs(small - X).mean() < np.abs(large - X).mean()


def test_noise_works_on_tabular_data_with_the_given_std():
    X = np.zeros((4000, 5), np.float32)
    out = AUGMENTATIONS.get("noise:std=0.5")(X, np.random.default_rng(0))
    assert out.dtype == np.float32 and out.std() == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize("shape", [(16, 4), (16, 1, 5, 5)])
def test_mixup_mixes_inputs_and_labels_with_one_lambda(shape):
    rng = np.random.default_rng(0)
    X = rng.standard_normal(shape).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)]
    X0, Y0 = X.copy(), Y.copy()
    op = AUGMENTATIONS.get("mixup:alpha=0.4")
    assert op.mixes_labels and not op.image_only
    xm, ym = op.mix(X, Y, np.random.default_rng(5))
    assert xm.shape == X.shape and xm.dtype == X.dtype and ym.dtype == Y.dtype
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)
    np.testing.assert_allclose(ym.sum(axis=1), 1.0, rtol=1e-6)
    xm2, ym2 = op.mix(X, Y, np.random.default_rng(5))
    np.testing.assert_array_equal(xm, xm2)
    np.testing.assert_array_equal(ym, ym2)
    assert not np.array_equal(xm, op.mix(X, Y, np.random.default_rng(6))[0])
    # reproduce with the same draws: one λ ~ Beta(α, α), one permutation
    draw = np.random.default_rng(5)
    lam, perm = draw.beta(0.4, 0.4), draw.permutation(16)
    np.testing.assert_allclose(xm, lam * X + (1 - lam) * X[perm], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ym, lam * Y + (1 - lam) * Y[perm], rtol=1e-5, atol=1e-6)


def test_mixup_refuses_input_only_use_but_pipeline_apply_mixes_labels():
    X, Y = images(), np.eye(2, dtype=np.float32)[np.arange(16) % 2]
    with pytest.raises(ConfigError, match="mix"):
        Mixup()(X, np.random.default_rng(0))
    pipeline = parse_augmentations("flip:p=1,mixup:0.2")
    assert pipeline.mixes_labels
    with pytest.raises(ConfigError, match="apply"):
        pipeline(X, np.random.default_rng(0))
    xm, ym = pipeline.apply(X, Y, np.random.default_rng(0))
    assert xm.shape == X.shape and ym.shape == Y.shape and not np.array_equal(ym, Y)


def test_pipeline_parsing_and_round_trip():
    pipeline = parse_augmentations("shift:2,rotate:15,elastic:alpha=8,sigma=3")
    assert [op.name for op in pipeline.ops] == ["shift", "rotate", "elastic"]
    shift, rotate, elastic = pipeline.ops
    assert shift.pixels == 2 and rotate.degrees == 15.0
    assert (elastic.alpha, elastic.sigma) == (8.0, 3.0)
    assert pipeline.spec() == "shift:pixels=2,rotate:degrees=15.0,elastic:alpha=8.0,sigma=3.0"
    assert parse_augmentations(pipeline.spec()) == pipeline
    assert parse_augmentations("flip,p=1").ops[0].p == 1.0
    assert parse_augmentations("zoom:0.8,1.2").ops[0] == AUGMENTATIONS.get("scale:low=0.8,high=1.2")
    assert parse_augmentations("erasing:3").ops[0].size == 3


def test_pipeline_applies_ops_in_order_with_the_same_generator():
    X = images()
    pipeline = parse_augmentations("shift:1,noise:0.1")
    out = pipeline(X, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    expected = pipeline.ops[1](pipeline.ops[0](X, rng), rng)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("spec", [None, "", "none"])
def test_empty_pipeline(spec):
    pipeline = parse_augmentations(spec)
    X = images()
    assert len(pipeline) == 0 and pipeline.spec() == "none"
    out = pipeline(X, np.random.default_rng(0))
    np.testing.assert_array_equal(out, X)
    assert out is not X


def test_image_op_on_tabular_data_is_a_config_error():
    pipeline = parse_augmentations("noise:0.1,rotate:15")
    with pytest.raises(ConfigError) as err:
        pipeline.check((4,))
    assert str(err.value) == (
        "augmentation 'rotate' needs image data (C, H, W); got tabular input shape (4,) — "
        "tabular data allows: noise, mixup"
    )
    parse_augmentations("noise,mixup").check((4,))
    pipeline.check((1, 8, 8))
    with pytest.raises(ConfigError, match="needs image data"):
        AUGMENTATIONS.get("flip")(np.zeros((3, 4)), np.random.default_rng(0))


def test_cutout_larger_than_the_images_is_refused():
    with pytest.raises(ConfigError, match="cutout: size=9 is larger than the images 8x8"):
        parse_augmentations("cutout:9").check((1, 8, 8))


def test_unknown_op_suggests_the_closest_name():
    with pytest.raises(UnknownComponentError, match="did you mean 'rotate'"):
        parse_augmentations("shift:1,rotat:15")


@pytest.mark.parametrize(
    "spec,error,fragment",
    [
        ("alpha=8,elastic", SpecError, "name an op first"),
        ("shift:1,,flip", SpecError, "empty item"),
        ("rotate:angle=3", SpecError, "no parameter 'angle'"),
        ("rotate:degrees=-1", ConfigError, "degrees=-1.0 is out of range"),
        ("scale:low=1.2,high=1.1", ConfigError, "low=1.2 > high=1.1"),
        ("flip:p=2", ConfigError, "p=2.0 is out of range"),
        ("mixup:alpha=0", ConfigError, "alpha=0.0 is out of range"),
        ("shift:pixels=-1", ConfigError, "pixels=-1 is not allowed; expected an integer >= 0"),
    ],
)
def test_bad_specs_and_hyperparameters(spec, error, fragment):
    with pytest.raises(error, match=fragment):
        parse_augmentations(spec)


def test_ops_accept_pipelines_and_components():
    op = AUGMENTATIONS.get("flip")
    assert parse_augmentations(op).ops == [op]
    pipeline = Pipeline([op])
    assert parse_augmentations(pipeline) is pipeline
