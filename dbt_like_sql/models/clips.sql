-- One row per planned clip of every shard, with its decode status (view over Parquet).
SELECT * FROM {{ source('clips') }}
