"""Runs that repeat a tutorial experiment are matched to its published figure; others are not."""

from __future__ import annotations

from dataclasses import replace

from lab.training.presets import PRESETS
from lab.training.references import REFERENCES, reference_for, study_reference


def test_every_reference_names_a_preset_that_matches_it() -> None:
    for reference in REFERENCES:
        preset = PRESETS[reference.preset]
        assert reference_for(preset.to_dict(), preset.resolved_head) == reference
        assert 0.5 < reference.accuracy < 1


def test_data_epochs_and_seed_may_differ_but_the_training_recipe_may_not() -> None:
    one_k = PRESETS["keras-tutorial-vgg16-1k"]
    elsewhere = replace(one_k, data="cats_and_dogs_filtered", epochs=3, seed=7)
    assert reference_for(elsewhere.to_dict(), elsewhere.resolved_head).accuracy == 0.93
    other_size = replace(one_k, train_size=2000)
    assert reference_for(other_size.to_dict(), other_size.resolved_head) is None
    quick = PRESETS["mobilenet-v2-quick"]
    assert reference_for(quick.to_dict(), quick.resolved_head) is None


def test_a_study_is_drawn_against_the_keras_tutorials_vgg16() -> None:
    assert study_reference() == ("Keras tutorial, VGG16 on 1K and on 20K: 93%", 0.93)
