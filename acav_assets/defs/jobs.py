import dagster as dg

from acav_assets.defs.partitions import shard_partitions

# Everything computed per shard (decode, then the experts), with their checks.
ingest_job = dg.define_asset_job(
    "ingest_shard",
    selection=dg.AssetSelection.groups("ingest", "experts", "captions", "curation"),
    partitions_def=shard_partitions,
    description="Decode one shard, run the experts on it and write its captions.",
)

statistics_job = dg.define_asset_job(
    "statistics",
    selection=dg.AssetSelection.groups("release", "statistics"),
    description="Write the release and rebuild the DuckDB statistics over every shard's Parquet.",
)
