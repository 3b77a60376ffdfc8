"""Whisper decoding of many clips' speech at once, on CTranslate2 through faster-whisper's model.

Each clip's speech (16 kHz mono, VAD regions already joined) is cut into windows of at most
30 s at quiet points. Windows of all clips go through the encoder and decoder in batches of
windows with the same encoder input length. The language is identified once per clip, from
the encoder output of its first window, and fixed for the clip's other windows. Decoding is
greedy; a window whose text is too repetitive (gzip compression ratio) or too unlikely (mean
log-probability) is decoded again by sampling at the next temperature, best of ``best_of``,
as Whisper's own fallback does, and a window Whisper calls silent yields no text.

``encoder_window="speech"`` feeds the encoder only the window's own length plus a few seconds of
silence (rounded up to 2 s) instead of a 30 s window padded with silence: Whisper's encoder cost grows
with its input, and VAD-gated clips are mostly much shorter than 30 s.
Nothing here imports Dagster.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from acav_assets.experts.speech.resampling import RATE

logger = logging.getLogger(__name__)

__all__ = ["DecodeSettings", "WhisperBatchDecoder", "WindowText", "split_windows"]

WINDOW_S = 30.0
_HOP = 160  # mel frames are 10 ms
_FULL_FRAMES = int(WINDOW_S * RATE) // _HOP
_FRAME_BUCKET = 200  # encoder inputs are rounded up to 2 s
_SECONDS_PER_TIMESTAMP = 0.02
_MIN_CUT_S = 20.0  # a long clip is cut at its quietest point between 20 and 30 s


@dataclass(frozen=True)
class DecodeSettings:
    """Whisper's decoding thresholds (its defaults) and the batching of this decoder."""

    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    beam_size: int = 1  # at temperature 0; >1 is beam search
    best_of: int = 5  # samples per window at a fallback temperature
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    batch_size: int = 8
    encoder_window: str = "speech"  # "speech": the window's own length; "full": padded to 30 s
    encoder_margin_s: float = 5.0  # "speech" windows: silence after the speech, so Whisper sees it end

    def __post_init__(self) -> None:
        if self.encoder_window not in ("speech", "full"):
            raise ValueError(f"encoder_window must be 'speech' or 'full', got {self.encoder_window!r}")
        if not self.temperatures or self.batch_size < 1:
            raise ValueError("temperatures must not be empty and batch_size must be positive")


@dataclass(frozen=True)
class WindowText:
    """One clip's decoded speech: language, its probability, and timed segments (s from the clip's start)."""

    language: str | None
    language_probability: float | None
    segments: list[tuple[float, float, str]]


@dataclass
class _Window:
    clip: int
    offset_s: float
    audio: np.ndarray


@dataclass
class _Decoded:
    tokens: list[int]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


def split_windows(audio: np.ndarray, window_s: float = WINDOW_S) -> list[tuple[float, np.ndarray]]:
    """``(offset_s, piece)`` pieces of at most ``window_s``, each cut at the quietest 20 ms
    between ``window_s - 10`` s and ``window_s`` s into the rest."""
    window, frame = int(window_s * RATE), RATE // 50
    earliest = int(min(_MIN_CUT_S, window_s / 2) * RATE)
    pieces, start = [], 0
    while audio.size - start > window:
        search = audio[start + earliest : start + window]
        energy = np.add.reduceat(search.astype(np.float64) ** 2, np.arange(0, search.size, frame))
        cut = start + earliest + int(np.argmin(energy)) * frame
        pieces.append((start / RATE, audio[start:cut]))
        start = cut
    pieces.append((start / RATE, audio[start:]))
    return pieces


class WhisperBatchDecoder:
    """Decodes the speech of many clips in batches with a faster-whisper ``WhisperModel``.

    Not thread-safe per call; the model itself may be shared.
    """

    def __init__(self, model: Any, settings: DecodeSettings | None = None) -> None:
        from faster_whisper.tokenizer import Tokenizer

        self.model = model
        self.settings = settings or DecodeSettings()
        self._tokenizers: dict[str | None, Any] = {}
        self._tokenizer_class = Tokenizer

    # ------------------------------------------------------------------ public

    def decode(self, audios: Sequence[np.ndarray], languages: Sequence[str | None] | None = None) -> list[WindowText]:
        """One :class:`WindowText` per clip (empty audio: no language, no segments)."""
        languages = list(languages) if languages is not None else [None] * len(audios)
        windows = [
            _Window(clip, offset, piece)
            for clip, audio in enumerate(audios)
            for offset, piece in (split_windows(audio) if audio.size else [])
        ]
        first: dict[int, int] = {}
        for index, window in enumerate(windows):
            first.setdefault(window.clip, index)
        later = [index for index in range(len(windows)) if index not in set(first.values())]
        identified: dict[int, tuple[str, float]] = {
            clip: (language, 1.0) for clip, language in enumerate(languages) if language
        }
        decoded: dict[int, tuple[_Decoded, str]] = {}
        # First windows first, so every clip's language is known before its later windows.
        for group in (sorted(first.values()), later):
            for batch in self._batches(group, windows):
                features = self._features([windows[i].audio for i in batch])
                encoded = self.model.encode(features)
                unknown = [k for k, i in enumerate(batch) if windows[i].clip not in identified]
                if unknown:
                    for k, found in zip(unknown, self._identify(encoded, unknown)):
                        identified[windows[batch[k]].clip] = found
                batch_languages = [identified[windows[i].clip][0] for i in batch]
                for i, language, result in zip(batch, batch_languages, self._decode_batch(encoded, batch_languages)):
                    decoded[i] = (result, language)
        return [self._clip_text(clip, windows, decoded, identified) for clip in range(len(audios))]

    # ------------------------------------------------------------------ encoder

    def _batches(self, indices: list[int], windows: list[_Window]) -> list[list[int]]:
        """Batches of windows with the same encoder input length, so that a window's result
        does not depend on the windows it is batched with."""
        by_frames: dict[int, list[int]] = {}
        for index in sorted(indices, key=lambda i: windows[i].audio.size):
            by_frames.setdefault(self._encoder_frames(windows[index].audio.size), []).append(index)
        size = self.settings.batch_size
        return [group[i : i + size] for group in by_frames.values() for i in range(0, len(group), size)]

    def _encoder_frames(self, samples: int) -> int:
        if self.settings.encoder_window == "full":
            return _FULL_FRAMES
        frames = (samples + int(self.settings.encoder_margin_s * RATE)) // _HOP + 1
        return min(_FULL_FRAMES, -(-frames // _FRAME_BUCKET) * _FRAME_BUCKET)

    def _features(self, pieces: list[np.ndarray]) -> np.ndarray:
        from faster_whisper.audio import pad_or_trim

        frames = max(self._encoder_frames(piece.size) for piece in pieces)
        mels = [self.model.feature_extractor(piece)[..., :-1] for piece in pieces]
        return np.ascontiguousarray(np.stack([pad_or_trim(mel, frames) for mel in mels]))

    # ------------------------------------------------------------------ language

    def _identify(self, encoded: Any, items: list[int]) -> list[tuple[str, float]]:
        """Most likely language and its probability for the batch items ``items``."""
        if not self.model.model.is_multilingual:
            return [("en", 1.0)] * len(items)
        results = self.model.model.detect_language(encoded)
        found = []
        for item in items:
            token, probability = results[item][0]
            found.append((token[2:-2], float(probability)))  # "<|en|>" -> "en"
        return found

    # ------------------------------------------------------------------ decoder

    def _tokenizer(self, language: str) -> Any:
        if language not in self._tokenizers:
            self._tokenizers[language] = self._tokenizer_class(
                self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe", language=language
            )
        return self._tokenizers[language]

    def _decode_batch(self, encoded: Any, languages: list[str]) -> list[_Decoded]:
        """Greedy decoding of a batch, then the temperature fallback for the windows that need it."""
        settings = self.settings
        tokenizers = [self._tokenizer(language) for language in languages]
        prompts = [list(tokenizer.sot_sequence) for tokenizer in tokenizers]
        best: list[_Decoded | None] = [None] * len(languages)
        pending = list(range(len(languages)))
        for temperature in settings.temperatures:
            if not pending:
                break
            results = self._generate(self._select(encoded, pending), [prompts[i] for i in pending],
                                     tokenizers[pending[0]], temperature)
            still = []
            for i, result in zip(pending, results):
                decoded = self._scored(result, tokenizers[i])
                best[i] = self._better(best[i], decoded)
                if self._needs_fallback(decoded):
                    still.append(i)
                else:
                    best[i] = decoded
            pending = still
        return [decoded for decoded in best if decoded is not None]

    def _select(self, encoded: Any, items: list[int]) -> Any:
        if len(items) == encoded.shape[0]:
            return encoded
        import ctranslate2

        array = np.asarray(encoded) if encoded.device == "cpu" else None
        if array is None:  # a GPU tensor: go through torch-free numpy on the host
            array = np.asarray(encoded.to_device(ctranslate2.Device.cpu))
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(array[items]))

    def _generate(self, encoded: Any, prompts: list[list[int]], tokenizer: Any, temperature: float) -> list[Any]:
        from faster_whisper.transcribe import get_suppressed_tokens

        settings = self.settings
        if temperature > 0:
            import ctranslate2

            ctranslate2.set_random_seed(0)  # the same audio gets the same samples on every run
            sampling = {"beam_size": 1, "num_hypotheses": settings.best_of, "sampling_topk": 0,
                        "sampling_temperature": temperature}
        else:
            sampling = {"beam_size": settings.beam_size}
        return self.model.model.generate(
            encoded, prompts, max_length=self.model.max_length, return_scores=True, return_no_speech_prob=True,
            suppress_blank=True, suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])), **sampling,
        )

    @staticmethod
    def _scored(result: Any, tokenizer: Any) -> _Decoded:
        from faster_whisper.transcribe import get_compression_ratio

        tokens = list(result.sequences_ids[0])  # hypotheses come sorted by score
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)  # CTranslate2 scores are per token
        text = tokenizer.decode(tokens).strip()
        return _Decoded(tokens, float(avg_logprob), float(result.no_speech_prob), get_compression_ratio(text))

    def _needs_fallback(self, decoded: _Decoded) -> bool:
        settings = self.settings
        if self._silent(decoded):
            return False
        too_repetitive = (settings.compression_ratio_threshold is not None
                          and decoded.compression_ratio > settings.compression_ratio_threshold)
        too_unlikely = settings.log_prob_threshold is not None and decoded.avg_logprob < settings.log_prob_threshold
        return too_repetitive or too_unlikely

    def _silent(self, decoded: _Decoded) -> bool:
        settings = self.settings
        return (settings.no_speech_threshold is not None and settings.log_prob_threshold is not None
                and decoded.no_speech_prob > settings.no_speech_threshold
                and decoded.avg_logprob < settings.log_prob_threshold)

    def _better(self, kept: _Decoded | None, new: _Decoded) -> _Decoded:
        """Whisper's pick when every temperature fails: the most likely text that is not too repetitive."""
        if kept is None:
            return new
        threshold = self.settings.compression_ratio_threshold

        def rank(decoded: _Decoded) -> tuple[bool, float]:
            return (threshold is None or decoded.compression_ratio <= threshold, decoded.avg_logprob)

        return new if rank(new) > rank(kept) else kept

    # ------------------------------------------------------------------ results

    def _clip_text(self, clip: int, windows: list[_Window], decoded: dict[int, tuple[_Decoded, str]],
                   identified: dict[int, tuple[str, float]]) -> WindowText:
        segments: list[tuple[float, float, str]] = []
        for index, window in enumerate(windows):
            if window.clip != clip:
                continue
            result, language = decoded[index]
            if self._silent(result):
                continue
            duration = window.audio.size / RATE
            for start, end, text in self._timed_segments(result.tokens, self._tokenizer(language), duration):
                segments.append((round(window.offset_s + start, 3), round(window.offset_s + end, 3), text))
        language, probability = identified.get(clip, (None, None))
        return WindowText(language, probability, segments)

    @staticmethod
    def _timed_segments(tokens: list[int], tokenizer: Any, duration: float) -> list[tuple[float, float, str]]:
        """Split tokens at Whisper's timestamp tokens into ``(start, end, text)``, times within the window."""
        begin = tokenizer.timestamp_begin
        segments, text_tokens, start, last = [], [], None, 0.0
        for token in tokens:
            if token < begin:
                if token < tokenizer.eot:
                    text_tokens.append(token)
                continue
            time = min(duration, (token - begin) * _SECONDS_PER_TIMESTAMP)
            if text_tokens:
                segments.append((start if start is not None else last, max(time, start or last), text_tokens))
                text_tokens, start = [], None
            else:
                start = time
            last = time
        if text_tokens:
            segments.append((start if start is not None else last, duration, text_tokens))
        out = []
        for seg_start, seg_end, seg_tokens in segments:
            text = tokenizer.decode(seg_tokens).strip()
            if text:
                out.append((round(seg_start, 3), round(seg_end, 3), text))
        return out
