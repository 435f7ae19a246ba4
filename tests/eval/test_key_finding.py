"""Key finding on scales and arpeggios in known keys."""

import numpy as np
import pytest

from cojam.eval.key_finding import Key, estimate_key, key_scores, pitch_class_histogram

MAJOR_SCALE = [0, 2, 4, 5, 7, 9, 11, 12]


@pytest.mark.parametrize("tonic", [0, 7, 2, 10])
def test_major_scales(tonic):
    histogram = pitch_class_histogram(np.array([60 + tonic + s for s in MAJOR_SCALE]))
    assert estimate_key(histogram) == Key(tonic % 12, "major")


def test_harmonic_minor_scale_is_minor():
    a_minor = [57, 59, 60, 62, 64, 65, 68, 69, 64, 57]  # with the raised leading tone G#
    assert estimate_key(pitch_class_histogram(np.array(a_minor))) == Key(9, "minor")


def test_silence_has_no_key_and_scores_match_pearson():
    assert estimate_key(np.zeros(12)) is None
    assert estimate_key(np.zeros(12), current=Key(2, "major")) == Key(2, "major")
    h = np.random.default_rng(0).random(12)
    assert key_scores(h)[0] == pytest.approx(np.corrcoef(h, [6.35, 2.23, 3.48, 2.33, 4.38,
                                                              4.09, 2.52, 5.19, 2.39, 3.66,
                                                              2.29, 2.88])[0, 1])


def test_margin_keeps_the_current_key_on_ambiguous_evidence():
    # the C major scale with an extra E: E minor correlates a little better than C major
    histogram = pitch_class_histogram(np.array([60, 62, 64, 65, 67, 69, 71, 64]))
    assert estimate_key(histogram) == Key(4, "minor")
    assert estimate_key(histogram, current=Key(0, "major"), margin=0.1) == Key(0, "major")
    # a clearly different key replaces it
    f_sharp = pitch_class_histogram(np.array([66 + s for s in MAJOR_SCALE] * 2))
    assert estimate_key(f_sharp, current=Key(0, "major"), margin=0.1) == Key(6, "major")


def test_pitch_class_histogram_ignores_silence_and_weighs():
    h = pitch_class_histogram(np.array([60, -1, 72, 67]), weights=np.array([1.0, 5.0, 2.0, 1.0]))
    assert h[0] == 3.0 and h[7] == 1.0 and h.sum() == 4.0
    assert Key(9, "minor").tonic_triad.symbol == "Am"
    assert [c.symbol for _, c in Key(7, "major").primary_chords()] == ["G", "D", "C", "Em"]
