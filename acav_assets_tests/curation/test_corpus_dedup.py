"""Corpus-wide dedup: exact and near caption duplicates of the same audio across shards, a
winner that does not depend on shard order, and a release without the losers."""

from __future__ import annotations

import random

import dagster as dg
import pyarrow as pa
import pytest

from acav_assets.contracts.layout import DataLayout
from acav_assets.curation import release
from acav_assets.curation.corpus_dedup import (
    DedupSettings,
    band_hashes,
    candidate_pairs,
    corpus_duplicates,
    find_duplicates,
    jaccard,
    minhash,
    shingles,
)
from acav_assets.defs import curation as curation_defs
from acav_assets.defs.resources import AcavSettings
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.io import storage
from acav_assets.stats import warehouse
from acav_assets_tests.curation.test_release_publish import curate

CAPTION = "A dog barks twice while a car passes slowly on a wet street in the evening rain."


def row(key: str, text: str, confidence: float = 0.9, domain: str = "S0A") -> dict:
    return {"key": key, "domain": domain, "long": [text, "b", "c"], "long_confidence": [confidence] * 3,
            "short_confidence": [confidence] * 3}


def clip(key: str, source: str, start: float = 0.0, end: float = 10.0, checksum: str | None = None) -> dict:
    return {"key": key, "source_id": source, "start_s": start, "end_s": end, "duration_s": end - start,
            "checksum": checksum or f"pcm-{key}"}


def shard(*pairs: tuple[dict, dict]) -> tuple[list[dict], dict]:
    return [r for r, _ in pairs], {c["key"]: c for _, c in pairs}


def test_exact_duplicate_across_shards_has_an_order_independent_winner():
    first = shard((row("a1", CAPTION, 0.8), clip("a1", "vid1")), (row("a2", "Rain on a roof."), clip("a2", "vid2")))
    second = shard((row("b1", "  " + CAPTION.upper()), clip("b1", "vid1", 2.0, 12.0)),
                   (row("b2", "Wind in trees."), clip("b2", "vid3")))
    expected = [{"key": "a1", "duplicate_of": "b1", "kind": "exact", "similarity": 1.0}]
    assert find_duplicates([first, second])[0].to_pylist() == expected
    reversed_rows = ([list(reversed(s[0])), s[1]] for s in (second, first))
    assert find_duplicates(list(reversed_rows))[0].to_pylist() == expected


def test_a_confidence_tie_is_broken_by_key_whatever_the_order():
    shards = [shard((row(f"k{n}", CAPTION), clip(f"k{n}", "vid1"))) for n in range(4)]
    random.Random(3).shuffle(shards)
    table, summary = find_duplicates(shards)
    assert table.column("key").to_pylist() == ["k1", "k2", "k3"]
    assert set(table.column("duplicate_of").to_pylist()) == {"k0"} and summary["exact"] == 3


def test_one_word_changed_is_a_near_duplicate_of_the_same_pcm():
    changed = CAPTION.replace("car", "truck")
    assert jaccard(shingles(CAPTION), shingles(changed)) >= DedupSettings().min_jaccard
    first = shard((row("a1", CAPTION), clip("a1", "vid1", checksum="same")))
    second = shard((row("b1", changed, 0.95), clip("b1", "vid7", checksum="same")))
    (found,) = find_duplicates([first, second])[0].to_pylist()
    assert found["key"] == "a1" and found["duplicate_of"] == "b1" and found["kind"] == "near"
    assert found["similarity"] == pytest.approx(jaccard(shingles(CAPTION), shingles(changed)))


def test_different_captions_or_different_audio_are_kept():
    other = "A woman sings a slow song with a piano behind her in a large hall."
    same_audio = shard((row("a1", CAPTION), clip("a1", "vid1")), (row("a2", other), clip("a2", "vid1")))
    generic = shard((row("b1", CAPTION), clip("b1", "vid9")),                 # same caption, other source
                    (row("b2", CAPTION), clip("b2", "vid1", 30.0, 40.0)))     # same source, disjoint window
    table, summary = find_duplicates([same_audio, generic])
    assert table.num_rows == 0
    assert summary["caption_matched_rows"] == 3  # counted, not removed


def test_silent_clips_take_no_part():
    silent = shard((row("a1", CAPTION, 0.99, domain="000"), clip("a1", "vid1")))
    loud = shard((row("b1", CAPTION, 0.5), clip("b1", "vid1")))
    assert find_duplicates([silent, loud])[0].num_rows == 0


def test_lsh_finds_similar_texts_and_not_unrelated_ones():
    texts = [CAPTION, CAPTION.replace("car", "truck"), "A woman sings a slow song with a piano in a hall."]
    pairs = candidate_pairs(band_hashes(minhash(texts))).tolist()
    assert [0, 1] in pairs and [0, 2] not in pairs and [1, 2] not in pairs


def _duplicate_across_shards(layout: DataLayout) -> tuple[str, str]:
    """Give shard-1's first clip the caption and window of shard-0's first released clip."""
    kept = storage.read_table(layout.table("curated_captions", "shard-0")).to_pylist()
    winner = next(r for r in kept if r["domain"] != "000")
    url = layout.table("curated_captions", "shard-1")
    rows = storage.read_table(url).to_pylist()
    loser = next(r for r in rows if r["domain"] != "000")
    loser["long"] = list(winner["long"])
    loser["long_confidence"] = [c - 0.1 for c in winner["long_confidence"]]
    storage.write_table(pa.Table.from_pylist(rows), url)
    clips = {c["key"]: c for c in storage.read_table(layout.table("clips", "shard-0")).to_pylist()}
    url = layout.table("clips", "shard-1")
    shard_clips = storage.read_table(url).to_pylist()
    for c in shard_clips:
        if c["key"] == loser["key"]:
            c.update({f: clips[winner["key"]][f] for f in ("source_id", "start_s", "end_s")})
    storage.write_table(pa.Table.from_pylist(shard_clips, schema=CLIPS_SCHEMA), url)
    return winner["key"], loser["key"]


def test_the_release_leaves_the_losers_out(tmp_path):
    layout = DataLayout(str(tmp_path / "data"))
    curate(layout, 9)
    winner, loser = _duplicate_across_shards(layout)
    result = dg.materialize([curation_defs.corpus_duplicates], instance=dg.DagsterInstance.ephemeral(),
                            resources={"settings": AcavSettings(data_root=layout.root)})
    assert result.success
    table = storage.read_table(layout.table("corpus_duplicates"))
    assert table.to_pylist() == [{"key": loser, "duplicate_of": winner, "kind": "exact", "similarity": 1.0}]
    assert corpus_duplicates(layout)[0].equals(table)
    published = release.publish(layout, clips_per_shard=3)
    keys = release.released_keys(layout)
    assert loser not in keys and winner in keys and published["clips"] == len(keys) == 6
    assert loser not in release.read_release(str(layout.release_folder()))
    assert not any(release.round_trip_problems(layout).values())
    counts = release.file_counts(layout.release_folder())
    assert set(counts.values()) == {6}, counts
    counts = warehouse.release_counts(layout, "acav")  # the statistics' streamed count leaves them out too
    assert counts["expected"] == 6 and warehouse.count_problems(counts) == []
