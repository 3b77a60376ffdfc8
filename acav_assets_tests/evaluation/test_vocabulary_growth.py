"""Vocabulary growth: unique words against the number of captions, for a data root and MECAT."""

from __future__ import annotations

import pyarrow as pa

from acav_assets.captions.offline_synthesiser import synthesize_caption
from acav_assets.captions.table import caption_row, caption_table
from acav_assets.evaluation.vocabulary_growth import (
    clip_captions,
    data_root_clips,
    growth_curve,
    main,
    mecat_clips,
    words,
)
from acav_assets.io import storage
from acav_assets_tests.captions.test_offline_synthesiser import REAL
from acav_assets_tests.reference_data import MECAT_CAPTIONS


def test_words_are_lower_case_letter_runs() -> None:
    assert words("Dogs bark, a dog's bark 3 times; CAFÉ-au-lait.") == [
        "dogs", "bark", "a", "dog's", "bark", "times", "café", "au", "lait"]


def test_absent_content_facets_are_left_out() -> None:
    record = {"domain": "0M0", "long": ["A piano plays."], "short": ["Piano."], "environment": ["A room."],
              "speech": ["None", "No speech", "Absence of speech"], "music": ["Piano", "Solo piano", "Keys"],
              "sound": ["None", "No sounds", "Silence"]}
    assert clip_captions(record) == ["A piano plays.", "Piano.", "Piano", "Solo piano", "Keys", "A room."]
    assert clip_captions(record, ["long", "speech"]) == ["A piano plays."]


def test_a_fixed_template_set_stops_growing_and_fresh_words_keep_growing() -> None:
    template = [["a dog barks in a room"]] * 40
    fresh = [[f"a {name} can be heard"] for name in (f"thing{chr(97 + i)}{chr(97 + j)}" for i in range(8)
                                                     for j in range(5))]
    assert growth_curve(template, [10, 20, 40]) == [(10, 5), (20, 5), (40, 5)]
    assert growth_curve(fresh, [10, 20, 40, 80]) == [(10, 14), (20, 24), (40, 44), (80, None)]


def test_clip_order_is_seeded() -> None:
    clips = [[f"word{chr(97 + i)} common"] for i in range(20)]
    assert growth_curve(clips, [5], seed=1) == growth_curve(clips, [5], seed=1) == [(5, 6)]


def test_mecat_sample_and_data_root_captions(tmp_path, capsys) -> None:
    reference = mecat_clips(MECAT_CAPTIONS)
    assert len(reference) == 900 and all(reference)
    assert not any(t == "None" for clip in reference for t in clip)
    records = [(row["key"], synthesize_caption(row)) for row in REAL.values()]
    (tmp_path / "captions").mkdir()
    table = caption_table([caption_row(key, "s", record) for key, record in records])
    storage.write_table(table, str(tmp_path / "captions" / "s.parquet"))
    ours = data_root_clips(str(tmp_path))
    assert ours == [clip_captions({"domain": r.domain, **r.facets}) for _, r in records]
    (tmp_path / "evidence").mkdir()
    storage.write_table(pa.Table.from_pylist(list(REAL.values())), str(tmp_path / "evidence" / "s.parquet"))
    assert data_root_clips(str(tmp_path), resynthesise=True) == ours
    assert main([str(tmp_path), "--mecat", str(MECAT_CAPTIONS), "--counts", "10", "100000"]) == 0
    out = capsys.readouterr().out
    assert f"data root: {len(ours)} clips" in out and "| 100,000 | - | - | - |" in out


def test_the_synthesisers_wording_varies_with_the_clip() -> None:
    """The same evidence under 40 clip keys draws on at least 20 % more words than under one key:
    constructions and synonyms are chosen per clip, so the vocabulary grows with the corpus even
    where the evidence repeats (the phrasing before issue 15's widening reached 14 %)."""
    def vocabulary(keys: range) -> set[str]:
        out: set[str] = set()
        for i in keys:
            for row in REAL.values():
                record = synthesize_caption({**row, "key": f"{row['key']}-{i}"})
                out.update(w for text in clip_captions({"domain": record.domain, **record.facets}) for w in words(text))
        return out
    one, many = vocabulary(range(1)), vocabulary(range(40))
    assert len(many) >= 1.2 * len(one), (len(one), len(many))
