"""Speed and word error rate of the speech stage (lite profile, CPU), before and after batching.

    python benchmarks/bench_speech.py [--manifest M] [--asterisk-texts DIR] [--limit N] [--copies N] [--modes ...]

Decodes the speech clips of a manifest (true domain S**; default: the demo corpus) into one
shard tar and runs, on the same clips:

* ``naive``: faster-whisper's ``WhisperModel.transcribe`` clip by clip on the whole clip, with
  its default settings (beam 5, temperature fallback, no VAD): ASR only;
* ``per-clip``: the speech stage clip by clip with the recognizer as it was: faster-whisper's
  ``transcribe`` on the joined VAD regions, beam 5, no temperature fallback, language ID inside
  each call (an extra 30 s encoder pass); VAD, pitch and gender as now;
* ``batched``: the speech expert now (``speech_of_shard``'s path): clips in groups, their speech
  windows decoded in shared batches, language ID once per clip, greedy with temperature fallback.

Prints clips, audio seconds, wall and CPU seconds (``time.process_time``, all threads),
audio-seconds per wall- and per CPU-second, the ratio to ``naive``, and the word error rate
on the clips with a known transcript (lower-cased, punctuation removed; languages written
without spaces left out). Known transcripts: the quoted sentence in the demo manifest's
``what`` column; for the real corpus (``python -m acav_assets.evaluation.real_corpus``), the
Asterisk prompt texts ``core-sounds-{en,fr,it}.txt`` (``.gz`` too) from the Debian packages
``asterisk-core-sounds-{en,fr,it}``, given with ``--asterisk-texts``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import tempfile
import time
from functools import partial
from pathlib import Path

import jiwer

from acav_assets.cli import DEMO_MANIFEST
from acav_assets.experts.shard_runner import analyse_shard, analyse_shard_in_groups
from acav_assets.experts.speech.analysis import (
    SPEECH_FIELDS,
    analyse_speech,
    analyse_speech_many,
)
from acav_assets.experts.speech.asr import (
    Transcript,
    WhisperRecognizer,
    assemble_packaged_base,
)
from acav_assets.experts.speech.expert import CLIPS_PER_GROUP
from acav_assets.experts.speech.gender import GenderEstimator
from acav_assets.experts.speech.vad import SileroVad
from acav_assets.ingest.clip_decoding import decode_shard
from acav_assets.ingest.shard_plans import plan_shards
from acav_assets.io.audio_shards import read_audio_shard

MODES = ("naive", "per-clip", "batched")
_UNSPACED = {"zh", "ja", "th", "yue", "cmn"}
_VOICE_FOLDERS = re.compile(r"^[a-z]{2}_[A-Z]{2}_[fm]_[A-Za-z]+/")  # en_US_f_Allison/extension.wav


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def prompt_texts(folder: Path) -> dict[tuple[str, str], str]:
    """(language, prompt name) -> text, from the core-sounds-LANG.txt lists."""
    texts = {}
    for path in sorted(folder.glob("core-sounds-*.txt*")):
        language = path.name.split("-")[2].split(".")[0]
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8-sig") as handle:
            for line in handle:
                name, colon, text = line.partition(":")
                if colon and not line.startswith(";"):
                    texts[(language, name.strip())] = text.strip()
    return texts


def reference(row: dict, prompts: dict[tuple[str, str], str]) -> tuple[str | None, str | None]:
    """(language, known transcript) of a manifest row, or None where unknown."""
    if row.get("components"):  # the real corpus: prompts in order of their start
        parts = [c for c in json.loads(row["components"]) if c["role"] == "speech"]
        texts = []
        for part in sorted(parts, key=lambda c: c["at_s"]):
            package, _, path = part["recording"].partition(":")
            text = prompts.get((package.split("-")[3], _VOICE_FOLDERS.sub("", path).removesuffix(".wav")))
            if text is None or text.startswith("[") or part["at_s"] + part["duration_s"] > 9.98:  # cut short
                return row.get("language"), None
            texts.append(text)
        return row.get("language"), " ".join(texts) or None
    quoted = re.search(r'"([^"]+)"', row.get("what", ""))
    language = re.search(r"espeak-ng, ([a-z]+)", row.get("what", ""))
    return (language.group(1) if language else None), (quoted.group(1) if quoted else None)


def speech_manifest(manifest: Path, folder: Path, copies: int, limit: int | None) -> tuple[Path, dict[str, dict]]:
    """The manifest's speech rows (``limit`` of them, evenly spaced; absolute audio paths; repeated
    ``copies`` times), and the rows by source id."""
    with open(manifest) as handle:
        rows = [row for row in csv.DictReader(handle) if row["domain"].startswith("S")]
    if limit and limit < len(rows):
        rows = [rows[i * len(rows) // limit] for i in range(limit)]
    out, by_source = folder / "speech.csv", {}
    fields = ["audio", "start", "end", "source_id", "title", "license"]
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for copy in range(copies):
            for row in rows:
                source = f"{row['source_id']}-c{copy}"
                by_source[source] = row
                writer.writerow({"audio": str((manifest.parent / row["audio"]).resolve()), "start": row.get("start", ""),
                                 "end": row.get("end", ""), "source_id": source, "title": row.get("title", ""),
                                 "license": row.get("license", "")})
    return out, by_source


class PerClipWhisper:
    """The recognizer as it was: faster-whisper ``transcribe`` per clip, beam 5, no fallback."""

    def __init__(self, model, name: str) -> None:
        self.model, self.model_name = model, name

    def transcribe(self, audio, language=None) -> Transcript:
        segments, info = self.model.transcribe(audio, language=language, beam_size=5, vad_filter=False,
                                               condition_on_previous_text=False, temperature=0.0)
        parts = [(s.start, s.end, s.text.strip()) for s in segments if s.text.strip()]
        return Transcript(" ".join(p[2] for p in parts), info.language, info.language_probability, parts,
                          self.model_name)



def run_mode(mode: str, tar: str, keys: set[str], threads: int) -> tuple[dict[str, str], float, float]:
    """Transcripts by clip key, wall seconds, CPU seconds (models loaded before the clock starts)."""
    from faster_whisper import WhisperModel

    vad, gender = SileroVad(), GenderEstimator()
    if mode == "naive":
        model = WhisperModel(str(assemble_packaged_base()), device="cpu", compute_type="int8")
        clips = [(key, audio) for key, audio, _ in read_audio_shard(tar, keys)]  # decoding is not ASR
        wall, cpu = time.perf_counter(), time.process_time()
        texts = {key: " ".join(s.text.strip() for s in model.transcribe(audio)[0]) for key, audio in clips}
        return texts, time.perf_counter() - wall, time.process_time() - cpu
    if mode == "per-clip":
        model = WhisperModel(str(assemble_packaged_base()), device="cpu", compute_type="int8", cpu_threads=threads)
        asr = PerClipWhisper(model, "per-clip")
        wall, cpu = time.perf_counter(), time.process_time()
        table = analyse_shard(tar, "bench", SPEECH_FIELDS, partial(_one_clip, vad, asr, gender), keys=keys,
                              workers=1, progress_every_s=1e9)
    else:
        asr = WhisperRecognizer.packaged_base(device="cpu", cpu_threads=threads)
        wall, cpu = time.perf_counter(), time.process_time()
        table = analyse_shard_in_groups(tar, "bench", SPEECH_FIELDS,
                                        partial(analyse_speech_many, vad=vad, asr=asr, gender=gender),
                                        keys=keys, group_size=CLIPS_PER_GROUP, progress_every_s=1e9)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    failed = [row["key"] for row in table.to_pylist() if row["status"] != "ok"]
    if failed:
        print(f"  {mode}: {len(failed)} clips failed: {failed[:5]}")
    return {row["key"]: row["transcript"] or "" for row in table.to_pylist()}, wall, cpu


def _one_clip(vad, asr, gender, audio, sample_rate):
    return analyse_speech(audio, vad, asr, gender, sample_rate=sample_rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=DEMO_MANIFEST)
    parser.add_argument("--asterisk-texts", type=Path, help="folder with core-sounds-{en,fr,it}.txt[.gz]")
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--limit", type=int, help="only this many speech rows, evenly spaced")
    parser.add_argument("--threads", type=int, default=2, help="CTranslate2 threads (naive: its default)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args()
    prompts = prompt_texts(args.asterisk_texts) if args.asterisk_texts else {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest, rows = speech_manifest(args.manifest, folder, args.copies, args.limit)
        (plan,) = plan_shards(str(manifest), 10.0, 1.0, 100_000).values()
        tar = str(folder / "shard.tar")
        clips = [c for c in decode_shard(plan, tar, workers=2, progress_every_s=1e9).to_pylist() if c["status"] == "ok"]
        keys = {c["key"] for c in clips}
        audio_s = sum(c["duration_s"] for c in clips)
        known = {}
        for clip in clips:
            language, text = reference(rows[clip["source_id"]], prompts)
            if text and language not in _UNSPACED:
                known[clip["key"]] = normalised(text)
        print(f"{len(clips)} speech clips, {audio_s:.0f} s of audio, {len(known)} with a known transcript "
              f"({args.manifest.name} x {args.copies})\n")
        print(f"{'mode':<10} {'wall-s':>7} {'cpu-s':>7} {'audio-s/wall-s':>15} {'audio-s/cpu-s':>14} "
              f"{'x naive (wall)':>15} {'x naive (cpu)':>14} {'WER':>6}")
        naive = None
        for mode in args.modes:
            texts, wall, cpu = run_mode(mode, tar, keys, args.threads)
            error = jiwer.wer([known[k] for k in known], [normalised(texts.get(k, "")) for k in known]) if known else float("nan")
            ratio = (f"{naive[0] / wall:15.2f} {naive[1] / cpu:14.2f}" if naive else f"{'':>15} {'':>14}")
            print(f"{mode:<10} {wall:7.1f} {cpu:7.1f} {audio_s / wall:15.2f} {audio_s / cpu:14.2f} {ratio} {error:6.3f}")
            if mode == "naive":
                naive = (wall, cpu)


if __name__ == "__main__":
    main()
