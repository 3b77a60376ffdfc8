"""The frames routing reads events from: split_frames and tag_clips(frames=True)."""

import numpy as np
import pytest

from acav_assets.experts.tagging.windows import (
    FRAME_S,
    split_frames,
    tag_clip,
    tag_clips,
)

RATE = 16_000


class _RmsTagger:
    """Scores each input by its RMS and length (two 'classes'), and counts its calls."""

    label_mids = ("/m/a", "/m/b")
    sample_rate = RATE
    supports_whole_clip = False

    def __init__(self):
        self.calls = []

    def predict(self, windows):
        self.calls.append(len(windows))
        return np.array([[np.sqrt(np.mean(w**2)), len(w) / RATE] for w in windows], np.float32)


@pytest.mark.parametrize("seconds, starts", [
    (10.0, [round(0.48 * i, 2) for i in range(19)] + [10.0 - FRAME_S]),  # 19 frames, then one ending at 10 s
    (1.455, [0.0, 0.48]),  # the hops reach the end exactly
    (0.5, [0.0]),  # shorter than a frame: the whole clip
    (0.0, []),
])
def test_split_frames(seconds, starts):
    frames, got = split_frames(np.zeros(round(seconds * RATE), np.float32))
    assert got.tolist() == pytest.approx(starts)
    assert all(len(f) == min(round(FRAME_S * RATE), round(seconds * RATE)) for f in frames)
    if frames:
        assert got[-1] * RATE + len(frames[-1]) == pytest.approx(round(seconds * RATE))


def test_tag_clips_scores_frames_on_request():
    rng = np.random.default_rng(0)
    clips = [rng.uniform(-0.5, 0.5, round(s * RATE)).astype(np.float32) for s in (10.0, 3.1, 0.4)]
    clips[0][5 * RATE:round(5.6 * RATE)] *= 0.01  # a quiet 0.6 s in the long clip
    tagger = _RmsTagger()
    plain = tag_clips(tagger, clips, batch_size=64)
    assert all(t.frame_scores is None and t.frame_starts_s is None for t in plain) and tagger.calls == [8]
    framed = tag_clips(tagger, clips, batch_size=64, frames=True)
    for clip, with_frames, without in zip(clips, framed, plain):
        np.testing.assert_array_equal(with_frames.window_scores, without.window_scores)
        frames, starts = split_frames(clip - clip.mean())
        np.testing.assert_array_equal(with_frames.frame_starts_s, starts)
        np.testing.assert_allclose(with_frames.frame_scores, tagger.predict(frames), rtol=1e-6)
    assert framed[0].frame_scores.shape == (20, 2) and framed[2].frame_scores.shape == (1, 2)
    # Frames see what a 2 s window averages away.
    assert framed[0].frame_scores[:, 0].min() < 0.8 * framed[0].window_scores[:, 0].min()
    assert tag_clip(tagger, clips[1]).frame_scores is None
