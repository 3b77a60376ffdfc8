-- The routed domain of every tagged clip (view over Parquet).
SELECT * FROM {{ source('routing') }}
