"""Speed of the lite-profile AudioSet tagger (YAMNet int8 ONNX), in audio-seconds per wall-second.

    python benchmarks/bench_tagger.py [--clips 100] [--threads 2] [--repeats 3]

Generates ~100 deterministic 10 s clips at 16 kHz (tones, chirps, noise bursts, clicks) and
times three ways of getting the same 2 s window scores:
  patch-by-patch: tag_clip per clip with max_patches_per_run=1, i.e. one ONNX Runtime call
                  per 0.96 s patch, which is what the packaged model's fixed batch of 1 forces;
  clip-by-clip:   tag_clip per clip on the batch-rewritten model (one call per clip, 15 patches);
  batched:        tag_clips over all clips (windows of all clips through predict together).
Each mode runs --repeats times and the best time counts. Also checks the three agree.

    python benchmarks/bench_tagger.py --clips 0 --hub-clips 64 --batch-size 64   # on a GPU

times the paper-profile HubAudioTagger instead (random ViT-Base stand-ins shaped like CED-Base
and AST-Base on 2 s windows), window by window, clip by clip and batched, with the model's feature
extractor on the CPU and with the batched front end on the model's device.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np

from acav_assets.experts.tagging.windows import split_windows, tag_clip, tag_clips
from acav_assets.experts.tagging.yamnet_tagger import YamnetTagger

RATE = 16_000


def make_clips(count: int, seconds: float = 10.0) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    clips = []
    for i in range(count):
        kind = i % 4
        if kind == 0:  # gated tone
            signal = np.sin(2 * np.pi * (220 + 7 * i) * t) * (np.sin(2 * np.pi * 0.7 * t) > 0)
        elif kind == 1:  # rising chirp
            signal = np.sin(2 * np.pi * (200 + 300 * t) * t)
        elif kind == 2:  # noise bursts
            signal = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 1.3 * t) > 0.3)
        else:  # click train
            signal = np.zeros(t.size)
            signal[:: RATE // 8] = 1.0
        clips.append((0.3 * signal + 0.003 * rng.standard_normal(t.size)).astype(np.float32))
    return clips


def best_of(repeats: int, run) -> tuple[float, float, object]:
    """Best wall time, the CPU time of that run, and the run's result."""
    best, cpu, result = float("inf"), 0.0, None
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall = time.perf_counter() - started
        if wall < best:
            best, cpu = wall, time.process_time() - started_cpu
    return best, cpu, result


def breakdown(tagger: YamnetTagger, clips: list[np.ndarray], repeats: int) -> None:
    """Where the time goes: front end vs model, and the model at 1 vs many patches per call."""
    windows = [w for clip in clips for w in split_windows(clip)[0]]
    t_front, _, (patches, _) = best_of(repeats, lambda: tagger.patches(windows))
    runs = {}
    for step in (1, 16, tagger.max_patches_per_run):
        tagger.max_patches_per_run, saved = step, tagger.max_patches_per_run
        runs[step] = best_of(repeats, lambda: tagger._run(patches))[0]
        tagger.max_patches_per_run = saved
    n = patches.shape[0]
    print(f"front end (all {len(windows)} windows): {t_front * 1e3:6.0f} ms")
    for step, seconds in runs.items():
        print(f"model, {step:3d} patch(es) per call: {seconds * 1e3:6.0f} ms = {seconds / n * 1e6:5.0f} us/patch")


# Hub-tagger stand-ins with random weights (speed does not depend on the weights, so batching is
# measured without hub access). Both are ViT-Base (768 wide, 12 layers) built as AST models:
#   ced: CED-Base's shape on a 2 s window: 64 mel bands, 16x16 patches without overlap -> 48 tokens;
#   ast: AST-Base's shape on a 2 s window: 128 mel bands, 16x16 patches every 10 -> 240 tokens.
HUB_SHAPES = {
    "ced": {"num_mel_bins": 64, "max_length": 201, "frequency_stride": 16, "time_stride": 16},
    "ast": {"num_mel_bins": 128, "max_length": 208, "frequency_stride": 10, "time_stride": 10},
}


def hub_tagger(shape: str, batch_size: int, front_end: str, precision: str = "float32"):
    import torch
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

    from acav_assets.experts.tagging.audioset_ontology import (
        AUDIOSET_527,
        load_ontology,
    )
    from acav_assets.experts.tagging.hub_tagger import HubAudioTagger

    ontology = load_ontology()
    names = {i: ontology.name(mid) for i, mid in enumerate(AUDIOSET_527)}
    torch.manual_seed(0)
    settings = HUB_SHAPES[shape]
    model = ASTForAudioClassification(ASTConfig(num_labels=527, id2label=names,
                                                label2id={v: k for k, v in names.items()}, **settings))
    extractor = ASTFeatureExtractor(num_mel_bins=settings["num_mel_bins"], max_length=settings["max_length"])
    tagger = HubAudioTagger(model, extractor, batch_size=batch_size, front_end=front_end, precision=precision)
    tagger.supports_whole_clip = False  # windows only, so every mode does the same work
    return tagger


def hub_tagger_ratio(clips: list[np.ndarray], repeats: int, batch_size: int, shapes: list[str]) -> None:
    """The paper-profile code path (HubAudioTagger): window by window, clip by clip (one call per
    clip, its five 2 s windows batched) and batched across clips (tag_clips as the pipeline calls
    it, model batches of ``batch_size``), with the model's own feature
    extractor on the CPU and with the batched front end on the model's device. On a GPU this is
    the figure that matters; on a CPU it is printed for reference."""
    audio_seconds = sum(c.size for c in clips) / RATE
    print(f"hub tagger, {len(clips)} clips, {audio_seconds:.0f} s of audio, batch {batch_size}; audio-s per wall-s:")
    print(f"  {'shape':<5} {'front end':<10} {'precision':<9} {'window-by-window':>16} {'clip-by-clip':>12} "
          f"{'batched':>9} {'batched/clip':>12}")
    for shape in shapes:
        reference = None
        for front_end, precision in (("extractor", "float32"), ("auto", "float32"), ("auto", "bfloat16")):
            tagger = hub_tagger(shape, batch_size, front_end, precision)
            tag_clips(tagger, clips[:8], batch_size=batch_size)  # warm-up (and the front-end check)
            by_window = partial(tag_clips, tagger, batch_size=1)
            t_window, _, _ = best_of(repeats, lambda: [by_window([c]) for c in clips])  # noqa: B023
            t_clip, _, by_clip = best_of(repeats, lambda: [tag_clip(tagger, c) for c in clips])  # noqa: B023
            t_all, _, together = best_of(repeats, partial(tag_clips, tagger, clips))  # 256 windows a call
            scores = np.concatenate([t.window_scores for t in together])
            reference = scores if reference is None else reference
            agree = max(float(np.abs(a.window_scores - b.window_scores).max()) for a, b in zip(by_clip, together))
            print(f"  {shape:<5} {tagger.front_end:<10} {precision:<9} {audio_seconds / t_window:16.1f} "
                  f"{audio_seconds / t_clip:12.1f} {audio_seconds / t_all:9.1f} {t_clip / t_all:11.2f}x   "
                  f"(device {tagger.device}; max |batched - clip-by-clip| {agree:.1e}, "
                  f"|scores - first row's| {float(np.abs(scores - reference).max()):.1e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="windows per predict() call")
    parser.add_argument("--hub-clips", type=int, default=0,
                        help="also time the paper-profile HubAudioTagger (random ViT-Base) on this many clips")
    parser.add_argument("--hub-shapes", default="ced,ast", help="stand-in shapes to time: ced, ast or both")
    args = parser.parse_args()
    if args.hub_clips:
        hub_tagger_ratio(make_clips(args.hub_clips), args.repeats, args.batch_size, args.hub_shapes.split(","))
    if not args.clips:
        return

    clips = make_clips(args.clips)
    audio_seconds = sum(c.size for c in clips) / RATE
    single = YamnetTagger(intra_op_threads=args.threads, max_patches_per_run=1)
    batched = YamnetTagger(intra_op_threads=args.threads)
    assert batched.batched, "the batch-dimension rewrite was refused; batching falls back to 1"
    tag_clips(batched, clips[:4])  # warm-up
    tag_clip(single, clips[0])

    t_patch, c_patch, by_patch = best_of(args.repeats, lambda: [tag_clip(single, c) for c in clips])
    t_clip, c_clip, by_clip = best_of(args.repeats, lambda: [tag_clip(batched, c) for c in clips])
    t_all, c_all, together = best_of(
        args.repeats, lambda: tag_clips(batched, clips, batch_size=args.batch_size)
    )

    worst = max(
        float(np.abs(a.window_scores - b.window_scores).max())
        for a, b, c in zip(by_patch, by_clip, together)
        for b in (b, c)
    )
    print(f"corpus: {args.clips} clips, {audio_seconds:.0f} s of audio; ORT intra-op threads {args.threads}")
    for name, seconds, cpu in (
        ("patch-by-patch", t_patch, c_patch), ("clip-by-clip", t_clip, c_clip), ("batched", t_all, c_all)
    ):
        print(f"{name:<15} {audio_seconds / seconds:9.0f} audio-s/s  (wall {seconds:6.3f} s, cpu {cpu:6.3f} s)")
    print(f"batched vs clip-by-clip   {t_clip / t_all:5.2f}x")
    print(f"batched vs patch-by-patch {t_patch / t_all:5.2f}x")
    print(f"max |score difference| between modes: {worst:.2e}")
    breakdown(batched, clips, args.repeats)


if __name__ == "__main__":
    main()
