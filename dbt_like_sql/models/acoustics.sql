-- Content-unrelated acoustics of every decoded clip (view over Parquet).
SELECT * FROM {{ source('acoustics') }}
