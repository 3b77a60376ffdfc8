"""The paper-profile AudioSet tagger: any ``transformers`` audio-classification model.

:class:`HubAudioTagger` wraps a model whose labels are AudioSet display names, by default
CED-Base as in the paper. It needs the model from a hub or a local folder; a missing model
raises :class:`~acav_assets.experts.tagging.tagger_protocol.TaggerModelUnavailable` saying how
to provide it. Features come from the model's own extractor or, once checked against it, from
a batched torch front end (:mod:`acav_assets.experts.tagging.front_ends`).

No Dagster imports.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from acav_assets.contracts.trusted_models import remote_code_options
from acav_assets.experts.tagging.audioset_ontology import Ontology, load_ontology
from acav_assets.experts.tagging.front_ends import front_end_for, largest_difference
from acav_assets.experts.tagging.tagger_protocol import (
    SAMPLE_RATE,
    TaggerModelUnavailable,
    _as_mono,
    _length_groups,
)

__all__ = [
    "CED_BASE_MODEL_ID",
    "CED_BASE_REVISION",
    "FRONT_END_TOLERANCE",
    "TAGGER_MODEL_ENV",
    "HubAudioTagger",
    "label_mids_from_names",
]

logger = logging.getLogger(__name__)

# Largest difference (relative to the features' magnitude) at which a batched front end counts as
# reproducing a model's feature extractor. A float32 extractor's own FFT rounding reaches 2e-3 in
# bins 100 dB below a pure tone (measured against float64); a wrong setting (window, mel range,
# pre-emphasis, gain) gives 0.09 or more (scripts/check_tagger_front_ends.py, tests).
FRONT_END_TOLERANCE = 1e-2

# Paper profile defaults. CED runs its own hub code, and the commit of mispeech/ced-base could
# not be looked up from this (hub-less) build machine, so the revision is the branch name: it
# loads only once an operator allowlists the audited commit (ACAV_TRUSTED_REMOTE_CODE=
# mispeech/ced-base@<commit>, see contracts.trusted_models), which "main" then resolves to. The
# tags table records the commit actually loaded.
CED_BASE_MODEL_ID = "mispeech/ced-base"
CED_BASE_REVISION = "main"
TAGGER_MODEL_ENV = "ACAV_TAGGER_MODEL"


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
        """Load a hub model id or a local folder; :class:`TaggerModelUnavailable` if impossible.
        ``trust_remote_code`` is honoured only at an allowlisted commit
        (:func:`~acav_assets.contracts.trusted_models.remote_code_options`)."""
        from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

        source = str(model_id_or_path)
        revision, trust_remote_code = remote_code_options(source, revision, trust_remote_code)
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
