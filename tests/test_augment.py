"""lab.augment: the spec, its presets and validation, the Keras layers it builds, faithfulness to
ImageDataGenerator, determinism, and the one code path shared by preview and the training pipeline."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from lab.augment import (
    BRIGHTNESS_ON,
    DEFAULT_PRESET,
    FORM_FIELDS,
    OPERATIONS,
    PARAMETERS,
    PRESETS,
    Augmenter,
    AugmentSpec,
    augment_batch,
    build_augmenter,
    control_bounds,
    form_values,
    only,
    overrides_from,
    parse_assignments,
    preview,
    single_operations,
    spec_from,
    spec_from_form,
    to_uint8,
    training_records,
)
from lab.augment.legacy import missing_operations
from lab.cli import build_parser
from lab.cli.augment import requested_spec
from lab.data.records import ImageRecord
from lab.errors import LabError
from tests.conftest import FILTERED

SIZE = 64
CAT = FILTERED / "train" / "cats" / "cat.1.jpg"
DOG = FILTERED / "train" / "dogs" / "dog.1.jpg"

# Every operation switched on, strongly enough to be seen on a 64x64 image.
EVERYTHING = AugmentSpec(rotation_range=40, width_shift_range=0.3, height_shift_range=0.3, shear_range=30,
                         zoom_range=0.4, horizontal_flip=True, vertical_flip=True, fill_mode="constant", cval=0,
                         brightness_range=(0.5, 1.5), contrast=0.6, random_erasing=1.0)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from lab.data.pipeline import load_image

    return load_image(CAT, SIZE)


def test_presets_are_the_tutorials_parameters():
    assert PRESETS["none"] == AugmentSpec() and PRESETS["none"].operations == ()
    tutorial = dict(width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, horizontal_flip=True,
                    vertical_flip=False, fill_mode="nearest", brightness_range=None, contrast=0, random_erasing=0)
    assert PRESETS["keras-tutorial"] == AugmentSpec(rotation_range=20, zoom_range=0.2, **tutorial)
    assert PRESETS["five-model-tutorial"] == AugmentSpec(rotation_range=50, zoom_range=0.3, **tutorial)
    # keras.io: RandomFlip("horizontal"), RandomRotation(0.1) -> 0.1 of a turn, default "reflect" fill.
    assert PRESETS["light"] == AugmentSpec(rotation_range=36, horizontal_flip=True, fill_mode="reflect")


@pytest.mark.parametrize("preset", PRESETS)
def test_a_form_shows_each_preset_and_reads_it_back(preset):
    values = form_values(PRESETS[preset])
    assert set(values) == set(FORM_FIELDS) and spec_from_form(values) == PRESETS[preset]


def test_a_form_keeps_a_brightness_range_to_switch_on_and_ignores_it_while_off():
    values = form_values(AugmentSpec())
    assert values[BRIGHTNESS_ON] is False and values["brightness_range"] == (0.8, 1.2)
    assert spec_from_form(values).brightness_range is None
    assert spec_from_form({**values, BRIGHTNESS_ON: True}).brightness_range == (0.8, 1.2)
    bright = form_values(AugmentSpec(brightness_range=(0.5, 1.5)))
    assert bright[BRIGHTNESS_ON] is True and bright["brightness_range"] == (0.5, 1.5)


def test_controls_stay_one_step_inside_an_open_bound_and_reach_a_closed_one():
    assert control_bounds(PARAMETERS["width_shift_range"], 0.01) == (0.0, 0.99)
    assert control_bounds(PARAMETERS["shear_range"], 0.1) == (0.0, 89.9)
    assert control_bounds(PARAMETERS["rotation_range"], 1.0) == (0.0, 180.0)
    for name, parameter in PARAMETERS.items():
        if parameter.kind == "number":  # the highest value a control offers is one the spec accepts
            assert getattr(AugmentSpec(**{name: control_bounds(parameter, 0.01)[1]}), name) > 0


def test_the_default_preset_is_the_keras_tutorial_and_the_cli_applies_it():
    assert DEFAULT_PRESET == "keras-tutorial"
    args = build_parser().parse_args(["augment", "photo.jpg", "--out", "x"])
    assert args.preset == DEFAULT_PRESET and requested_spec(args) == PRESETS["keras-tutorial"]


def test_pixels_to_show_are_rounded_and_clipped_to_8_bits():
    shown = to_uint8(np.array([-3.0, 0.4, 0.6, 254.5, 300.0], dtype=np.float32))
    assert shown.dtype == np.uint8 and shown.tolist() == [0, 0, 1, 254, 255]


def test_the_operations_image_data_generator_lacks_are_named_in_order():
    assert missing_operations(EVERYTHING) == ["contrast", "random_erasing"]
    assert missing_operations(PRESETS["keras-tutorial"]) == []


def test_parameters_describe_every_field_in_order():
    assert tuple(PARAMETERS) == tuple(AugmentSpec.__dataclass_fields__)
    assert "0.2 degrees" in PARAMETERS["shear_range"].help


def test_spec_round_trips_through_json():
    text = json.dumps(EVERYTHING.to_dict())
    assert AugmentSpec.from_dict(json.loads(text)) == EVERYTHING
    assert json.loads(text)["brightness_range"] == [0.5, 1.5]


def test_spec_from_parses_cli_strings_and_json_values():
    spec = spec_from("keras-tutorial", parse_assignments(
        ["rotation_range=30", "horizontal_flip=false", "vertical_flip=YES", "brightness_range=0.8,1.2",
         "fill_mode=constant", "cval=128"]))
    assert spec == replace(PRESETS["keras-tutorial"], rotation_range=30, horizontal_flip=False, vertical_flip=True,
                           brightness_range=(0.8, 1.2), fill_mode="constant", cval=128)
    assert spec_from("none", {"zoom_range": 0.1, "brightness_range": [0.9, 1.1]}) == \
        AugmentSpec(zoom_range=0.1, brightness_range=(0.9, 1.1))
    assert spec_from("light", {"brightness_range": "none"}).brightness_range is None
    assert spec_from("none", {"brightness_range": "0.7:1.1"}).brightness_range == (0.7, 1.1)  # no comma to split


def test_overrides_from_gives_what_spec_from_needs():
    spec = replace(PRESETS["five-model-tutorial"], shear_range=15, contrast=0.2)
    overrides = overrides_from("five-model-tutorial", spec)
    assert overrides == {"shear_range": 15.0, "contrast": 0.2}
    assert spec_from("five-model-tutorial", overrides) == spec


def _records(*splits: str | None) -> list[ImageRecord]:
    return [ImageRecord(path=f"/data/{i}.jpg", label="cats", split=split, digest=str(i), width=8, height=8)
            for i, split in enumerate(splits)]


def test_a_training_batch_is_drawn_from_the_training_split_else_from_everything():
    split = _records("train", "validation", "train", "test")
    assert [r.path for r in training_records(split)] == ["/data/0.jpg", "/data/2.jpg"]
    unsplit = _records(None, None)
    assert training_records(unsplit) == unsplit
    held_out_only = _records("validation", "test")
    assert training_records(held_out_only) == held_out_only
    assert training_records([]) == []


@pytest.mark.parametrize("name, value, allowed", [
    ("rotation_range", 200, "[0, 180]"),
    ("rotation_range", -1, "[0, 180]"),
    ("width_shift_range", 1.0, "[0, 1)"),
    ("height_shift_range", "abc", "[0, 1)"),
    ("shear_range", 90, "[0, 90)"),
    ("zoom_range", 1, "[0, 1)"),
    ("horizontal_flip", "maybe", "true or false"),
    ("vertical_flip", 1, "true or false"),
    ("fill_mode", "mirror", "nearest, reflect, wrap, constant"),
    ("cval", 300, "[0, 255]"),
    ("brightness_range", "1.2,0.8", "low <= high"),
    ("brightness_range", [1.0], "low <= high"),
    ("contrast", 1.5, "[0, 1]"),
    ("random_erasing", True, "[0, 1]"),
])
def test_bad_values_name_the_parameter_and_what_it_accepts(name, value, allowed):
    with pytest.raises(LabError) as error:
        spec_from("none", {name: value})
    assert name in str(error.value) and allowed in str(error.value)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(LabError, match="keras-tutorial.*five-model-tutorial"):
        spec_from("keras_tutorial")
    with pytest.raises(LabError, match="rotation_range.*random_erasing") as error:
        spec_from("none", {"rotation": "10"})
    assert "rotation" in str(error.value)
    with pytest.raises(LabError, match="key=value"):
        parse_assignments(["rotation_range"])
    with pytest.raises(LabError, match="valid parameters"):
        AugmentSpec.from_dict({"channel_shift_range": 10})


def test_layers_follow_the_spec_with_its_fill_mode():
    augmenter = build_augmenter(EVERYTHING, seed=0)
    names = [type(layer).__name__ for layer in augmenter.layers]
    assert names == ["RandomAffine", "RandomFlip", "RandomFlip", "RandomBrightnessFactor", "RandomContrast",
                     "RandomErasing"]
    affine = augmenter.layers[0]
    assert (affine.fill_mode, affine.fill_value) == ("constant", 0)
    light = build_augmenter(PRESETS["light"], seed=0).layers
    assert [type(layer).__name__ for layer in light] == ["RandomAffine", "RandomFlip"]
    assert light[0].fill_mode == "reflect" and light[0].ranges["rotation"] == (-36, 36)
    assert [type(layer).__name__ for layer in build_augmenter(AugmentSpec()).layers] == ["Identity"]


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_operation_changes_images_when_on_and_nothing_when_off(photo, operation):
    variants = preview(photo, only(EVERYTHING, operation), n=8, seed=3)
    change = np.abs(variants - photo).mean(axis=(1, 2, 3))
    assert change.max() > 5, f"{operation} left every variant unchanged: {change}"
    without = replace(EVERYTHING, **{name: getattr(AugmentSpec(), name) for name in OPERATIONS[operation]})
    assert operation not in without.operations
    np.testing.assert_array_equal(preview(photo, only(without, operation), n=2, seed=3), np.stack([photo, photo]))


def test_shapes_dtypes_and_value_range_are_kept():
    rng = np.random.default_rng(0)
    batch = rng.uniform(0, 255, size=(5, 48, 80, 3)).astype(np.uint8)  # not square, not float
    out = augment_batch(batch, EVERYTHING, seed=1)
    assert out.shape == (5, 48, 80, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255
    with pytest.raises(LabError, match="shaped"):
        augment_batch(batch[0], EVERYTHING, seed=1)
    with pytest.raises(LabError, match="at least 1"):
        preview(batch[0], EVERYTHING, n=0, seed=1)


def _expected_fill(mode: str, index: float, width: int, cval: float) -> float:
    """The value a horizontal ramp (pixel value = column) takes at a column outside [0, width)."""
    inside_left = index < 0
    return {
        "constant": cval,
        "nearest": 0.0 if inside_left else width - 1.0,
        "reflect": -index - 1 if inside_left else 2 * width - 1 - index,
        "wrap": index + width if inside_left else index - width,
    }[mode]


@pytest.mark.parametrize("mode", ["constant", "nearest", "reflect", "wrap"])
def test_fill_modes_fill_what_the_shift_uncovers(mode):
    width = 64
    ramp = np.broadcast_to(np.arange(width, dtype=np.float32)[None, :, None], (width, width, 3))
    spec = AugmentSpec(width_shift_range=0.3, fill_mode=mode, cval=200)
    out = preview(ramp, spec, n=16, seed=0)
    checked = 0
    for variant in out:
        shift = width // 2 - variant[width // 2, width // 2, 0]  # the content moved right by `shift` pixels
        if abs(shift) < 3:
            continue
        column = 0 if shift > 0 else width - 1
        expected = _expected_fill(mode, column - shift, width, cval=200)
        assert variant[width // 2, column, 0] == pytest.approx(expected, abs=0.5), (mode, shift)
        checked += 1
    assert checked >= 8


def test_same_seed_same_variants_other_seed_other_variants(photo):
    first = preview(photo, EVERYTHING, n=6, seed=7)
    np.testing.assert_array_equal(first, preview(photo, EVERYTHING, n=6, seed=7))
    assert not np.array_equal(first, preview(photo, EVERYTHING, n=6, seed=8))
    assert len({variant.tobytes() for variant in first}) == 6


def test_an_augmenter_built_once_draws_like_a_fresh_one_for_every_seed(photo):
    augmenter = Augmenter(EVERYTHING)  # what the page keeps between reruns
    for seed in (3, 4, 3, 0):
        np.testing.assert_array_equal(preview(photo, augmenter, n=6, seed=seed), preview(photo, EVERYTHING, 6, seed))


def test_an_operation_alone_gets_the_draws_it_gets_in_the_full_spec(photo):
    both = AugmentSpec(horizontal_flip=True, vertical_flip=True)
    combined = preview(photo, both, n=12, seed=5)
    flipped_h = [not np.array_equal(v, photo) for v in preview(photo, only(both, "horizontal_flip"), 12, seed=5)]
    flipped_v = [not np.array_equal(v, photo) for v in preview(photo, only(both, "vertical_flip"), 12, seed=5)]
    for variant, h, v in zip(combined, flipped_h, flipped_v):
        expected = photo[:, ::-1] if h else photo
        np.testing.assert_array_equal(variant, expected[::-1] if v else expected)
    assert any(h != v for h, v in zip(flipped_h, flipped_v))  # one coin per axis, as ImageDataGenerator
    assert list(single_operations(EVERYTHING)) == list(OPERATIONS)
    assert all(s.operations == (op,) for op, s in single_operations(EVERYTHING).items())


# Each row: a spec, the ranges its layer got, the same layer pinned to one point of those ranges, and
# ImageDataGenerator's transform at that point.
FAITHFUL = {
    "rotation": (AugmentSpec(rotation_range=30), {"rotation": (-30, 30)}, {"rotation": (30, 30)}, {"theta": 30}),
    "width_shift": (AugmentSpec(width_shift_range=0.25), {"width_shift": (-0.25, 0.25)},
                    {"width_shift": (0.25, 0.25)}, {"tx": 16}),
    # legacy ImageDataGenerator moves rows with "ty", which its code fills from width_shift_range (a bug)
    "height_shift": (AugmentSpec(height_shift_range=0.25), {"height_shift": (-0.25, 0.25)},
                     {"height_shift": (0.25, 0.25)}, {"ty": 16}),
    "shear": (AugmentSpec(shear_range=25), {"shear": (-25, 25)}, {"shear": (25, 25)}, {"shear": 25}),
    "zoom": (AugmentSpec(zoom_range=0.3), {"zoom": (0.7, 1.3)}, {"zoom": (1.3, 1.3)}, {"zx": 1.3, "zy": 1.3}),
    "all_geometric": (
        AugmentSpec(rotation_range=20, width_shift_range=0.1, height_shift_range=0.15, shear_range=15, zoom_range=0.2),
        {"rotation": (-20, 20), "width_shift": (-0.1, 0.1), "height_shift": (-0.15, 0.15), "shear": (-15, 15),
         "zoom": (0.8, 1.2)},
        {"rotation": (20, 20), "width_shift": (0.1, 0.1), "height_shift": (-0.15, -0.15), "shear": (15, 15),
         "zoom": (0.8, 0.8)},
        {"theta": 20, "tx": 6.4, "ty": -9.6, "shear": 15, "zx": 0.8, "zy": 0.8}),
    "brightness": (AugmentSpec(brightness_range=(0.6, 1.4)), {"factor_range": (0.6, 1.4)},
                   {"factor_range": (1.3, 1.3)}, {"brightness": 1.3}),
}


@pytest.mark.parametrize("spec, ranges, pinned, legacy", FAITHFUL.values(), ids=FAITHFUL.keys())
def test_conversions_match_image_data_generator_pixel_for_pixel(photo, spec, ranges, pinned, legacy):
    from lab.augment.legacy import legacy_generator_class

    (layer,) = build_augmenter(replace(spec, fill_mode="nearest"), seed=0).layers
    config = layer.get_config()
    assert {name: config[name] for name in ranges} == {name: pytest.approx(value) for name, value in ranges.items()}
    fixed = type(layer).from_config({**config, **pinned})
    ours = np.asarray(fixed(photo[None], training=True))[0]
    theirs = legacy_generator_class()(fill_mode="nearest").apply_transform(photo.copy(), legacy)
    assert np.abs(ours - photo).mean() > 10  # the transform is visible...
    np.testing.assert_allclose(ours, theirs, atol=1.0)  # ...and ImageDataGenerator's (PIL rounds brightness)


def test_zoom_scales_each_axis_independently():
    square = np.zeros((64, 64, 3), np.float32)
    square[16:48, 16:48] = 255
    spans = []
    for variant in preview(square, AugmentSpec(zoom_range=0.5, fill_mode="constant"), n=8, seed=0):
        rows, cols = np.nonzero(variant[..., 0] > 127)
        spans.append((rows.max() - rows.min(), cols.max() - cols.min()))
    assert sum(abs(height - width) > 3 for height, width in spans) >= 4, spans


def test_the_training_pipeline_augments_exactly_like_the_preview():
    from lab.data.check import check_file
    from lab.data.pipeline import image_dataset, load_image
    from lab.data.records import ImageRecord

    checks = [(path, label, check_file(path)) for path, label in [(CAT, "cats"), (DOG, "dogs")]]
    records = [ImageRecord(str(path), label, "train", c.digest, c.width, c.height, c.needs_pil)
               for path, label, c in checks]
    spec = PRESETS["five-model-tutorial"]
    dataset = image_dataset(records, ["cats", "dogs"], SIZE, batch_size=2, augment=build_augmenter(spec, seed=4))
    (images, labels), = list(dataset)
    originals = np.stack([load_image(r.path, SIZE) for r in records])
    np.testing.assert_allclose(images.numpy(), augment_batch(originals, spec, seed=4), atol=1e-3)
    assert labels.numpy().tolist() == [0, 1]
    assert np.abs(images.numpy() - originals).mean() > 5


def test_legacy_side_by_side_is_seeded_and_leaves_numpy_random_alone(photo):
    from lab.augment.legacy import legacy_preview

    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    first = legacy_preview(photo, PRESETS["keras-tutorial"], n=3, seed=9)
    assert np.random.random() == expected_next
    assert first.shape == (3, SIZE, SIZE, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, legacy_preview(photo, PRESETS["keras-tutorial"], n=3, seed=9))
    assert np.abs(first - photo).mean() > 5
    np.testing.assert_array_equal(legacy_preview(photo, AugmentSpec(), n=1, seed=0)[0], photo)
