"""Routing and acoustics agree on silence: a constant offset is no sound, a quiet tone is."""

import numpy as np
import pytest

from acav_assets.contracts.domains import SILENT_DOMAIN
from acav_assets.experts.acoustics import measure_acoustics
from acav_assets.experts.routing import ContentGroups, route_clip
from acav_assets.experts.tagging.audioset_ontology import load_ontology
from acav_assets.experts.tagging.windows import tag_clip
from acav_assets.experts.tagging.yamnet_tagger import YamnetTagger

RATE = 16000


@pytest.fixture(scope="module")
def tagger():
    tagger = YamnetTagger()
    return tagger, ContentGroups.from_labels(tagger.label_mids, load_ontology())


@pytest.mark.parametrize("tone_amplitude, silent", [(0.0, True), (0.01, False)])
def test_routing_and_acoustics_agree_on_an_offset_clip(tagger, tone_amplitude, silent):
    model, groups = tagger
    t = np.arange(5 * RATE) / RATE
    audio = (0.3 + tone_amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    acoustics = measure_acoustics(audio, RATE)
    tags = tag_clip(model, audio)
    route = route_clip(tags.window_scores, tags.window_starts_s, tags.window_starts_s + 2.0, groups,
                       is_silent=acoustics["is_silent"])
    assert acoustics["is_silent"] is silent
    assert (route.domain == SILENT_DOMAIN) is silent
