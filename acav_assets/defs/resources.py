"""Settings shared by every asset, with defaults overridable by ACAV_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from acav_assets.io import storage

SQL_MODELS_DIR = Path(__file__).resolve().parents[2] / "dbt_like_sql" / "models"


def _env(name: str, default):
    value = os.environ.get(f"ACAV_{name.upper()}")
    return default if value in (None, "") else type(default)(value)


class AcavSettings(dg.ConfigurableResource):
    """Where data lives and how the corpus is cut and checked."""

    data_root: str = "acav_data"  # a local folder or any fsspec URL (s3://, gs://)
    profile: str = "lite"
    dataset_name: str = "acav"
    clip_seconds: float = 10.0
    min_clip_seconds: float = 1.0
    max_clip_seconds: float = 30.0
    shard_size: int = 1000
    max_error_rate: float = 0.1
    workers: int = 2
    # Routing: a part is present when its best 2 s window reaches this tagger probability.
    speech_threshold: float = 0.5
    music_threshold: float = 0.3
    sound_threshold: float = 0.3
    duckdb_path: str = ""
    manifests_dir: str = ""
    # The nightly backfill schedule requests at most this many shard runs per tick (ACAV_MAX_SHARDS_PER_TICK).
    max_shards_per_tick: int = 200
    # caption_model trains in the step's own process by default; a launcher command (e.g.
    # "accelerate launch --num_processes 8", or "python") runs `-m acav_assets.training.caption_training`
    # out of process through Dagster Pipes, which streams its logs and metadata back.
    training_launcher: str = ""
    # MECAT-Caption benchmark (hub dataset mispeech/MECAT-Caption): the reference JSON lines and
    # the audio WebDataset shards (a folder, glob or brace pattern).
    mecat_references: str = ""
    mecat_audio: str = ""
    # DATE text encoder: "" = the profile's default (lite: the packaged all-MiniLM-L6-v2; paper:
    # paraphrase-TinyBERT-L6-v2 from the hub), "packaged", or a sentence-transformers id or folder.
    date_model: str = ""
    # FENSE error checker checkpoint (echecker_clotho_audiocaps_base.ckpt) for DATE's fluency
    # penalty; "" = no penalty.
    fluency_checker: str = ""

    @classmethod
    def from_env(cls, **overrides) -> AcavSettings:
        """Defaults, then ACAV_DATA_ROOT, ACAV_SHARD_SIZE ... from the environment, then overrides."""
        defaults = {name: info.default for name, info in cls.model_fields.items()}
        values = {name: _env(name, default) for name, default in defaults.items()}
        if "://" not in values["data_root"]:
            values["data_root"] = str(Path(values["data_root"]).resolve())
        values.update(overrides)
        return cls(**values)

    def url(self, asset: str, partition: str | None = None, ext: str = "parquet") -> str:
        return storage.asset_url(self.data_root, asset, partition, ext)

    def glob(self, asset: str) -> str:
        return storage.asset_glob(self.data_root, asset)

    @property
    def database(self) -> str:
        """The DuckDB file (always local: DuckDB cannot write to an object store)."""
        if self.duckdb_path:
            return self.duckdb_path
        local = storage.local_path(self.data_root)
        return f"{local}/warehouse.duckdb" if local else str(Path("acav_warehouse.duckdb").resolve())

    @property
    def manifests(self) -> str:
        return self.manifests_dir or f"{self.data_root.rstrip('/')}/manifests"
