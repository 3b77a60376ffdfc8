"""The release's dataset card, ``README.md``: YAML front matter whose ``configs:`` tell
``datasets.load_dataset`` which Parquet files make each config and split (so the WebDataset tars
and JSON lines beside them are not mistaken for the dataset), the hub ``license`` ids found in the
manifest licences, and a short text with every licence as the manifest states it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import yaml

from acav_assets.curation.hub_files import CAPTIONS_CONFIG, QA_CONFIG, TEST_PERCENT

CARD = "README.md"
# Hub licence ids, as the manifest may spell them (SPDX, any case); anything else is "other".
HUB_LICENSES = (
    "apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "gpl-2.0", "gpl-3.0", "lgpl-2.1", "lgpl-3.0",
    "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0",
    "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "odc-by", "pddl", "odbl",
)
UNKNOWN = "unknown"


def hub_license_ids(licence: str | None) -> list[str]:
    """The hub licence ids named in one manifest licence; ``other`` when none, ``unknown`` when empty."""
    if not licence or not licence.strip():
        return [UNKNOWN]
    found = [lid for lid in HUB_LICENSES
             if re.search(rf"(?<![\w.-]){re.escape(lid)}(?![\w-]|\.\d)", licence, re.IGNORECASE)]
    return found or ["other"]


def front_matter(splits: Mapping[str, Mapping[str, int]], licences: Counter) -> dict:
    """The card's YAML: licence ids and one config per ``splits`` entry (config -> split -> rows)."""
    ids = sorted({lid for licence in licences for lid in hub_license_ids(licence)})
    clips = sum(splits.get(CAPTIONS_CONFIG, {}).values())
    configs = [{"config_name": config, **({"default": True} if config == CAPTIONS_CONFIG else {}),
                "data_files": [{"split": split, "path": f"{config}/{split}-*.parquet"} for split in by_split]}
               for config, by_split in splits.items()]
    return {"license": ids[0] if len(ids) == 1 else ids, "pretty_name": "ACAV-style audio captions",
            "tags": ["audio", "audio-captioning", "question-answering"],
            "size_categories": [_size_category(clips)], "configs": configs}


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "1M<n<10M"


def card_text(splits: Mapping[str, Mapping[str, int]], licences: Counter) -> str:
    """The whole ``README.md``: front matter, then what is in the folder and under which licences."""
    header = yaml.safe_dump(front_matter(splits, licences), sort_keys=False, allow_unicode=True)
    counts = "; ".join(f"{config}: " + ", ".join(f"{split} {n}" for split, n in by_split.items())
                       for config, by_split in splits.items()) or "no clips"
    licence_lines = [f"| {(licence or UNKNOWN).replace('|', '/')} | {n} |" for licence, n in sorted(
        licences.items(), key=lambda item: (-item[1], item[0] or ""))]
    licence_table = "\n".join(licence_lines)
    return f"""---
{header.rstrip()}
---

# ACAV-style audio captions

Six caption facets (long, short, speech, music, sound, environment; three variants each) and
MECAT-style question-answer pairs for 16 kHz mono clips, written by the acav-assets pipeline.

## Configs and splits

- `{CAPTIONS_CONFIG}`: one row per clip, the audio embedded as FLAC (`Audio` feature), with `source_id`,
  `window_start_s`/`window_end_s` (the clip's window in its source), `duration_s`, `license`, `domain`,
  the six facets and the clip's QA pairs.
- `{QA_CONFIG}`: one row per question-answer pair (`id`, `key`, `category`, `difficulty`, `question`,
  `answer`, with the clip's source, window and licence).
- Splits are by source, deterministically: a clip is in `test` when the sha256 of its `source_id`
  falls in the first {TEST_PERCENT} % of the hash range, so all windows of one recording share a split.
  A split without clips is left out.
- Rows: {counts}.

Also here: `{{domain}}.jsonl.gz` (ACAVCaps caption lines), `qa.jsonl.gz` (MECAT-QA lines),
`captions.parquet` (captions without audio), `webdataset/*.tar` (flac + json per clip, for training)
and `index.json` (size and sha256 of every file).

```python
from datasets import load_dataset
captions = load_dataset("PATH_OR_REPO")  # the default config, "{CAPTIONS_CONFIG}"
qa = load_dataset("PATH_OR_REPO", "{QA_CONFIG}")
```

## Licences

Each clip keeps the licence its manifest gave it, in the `license` column of every Parquet file and
in each WebDataset sample's JSON; the captions are released under the same terms as their clip.

| licence | clips |
| --- | --- |
{licence_table}
"""


def write_card(folder: str | Path, splits: Mapping[str, Mapping[str, int]], licences: Counter) -> Path:
    path = Path(folder) / CARD
    path.write_text(card_text(splits, licences), encoding="utf-8")
    return path


def read_front_matter(folder: str | Path) -> dict:
    """The YAML front matter of a release's card."""
    text = (Path(folder) / CARD).read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)
    if not match:
        raise ValueError(f"{CARD} has no YAML front matter")
    return yaml.safe_load(match.group(1))
