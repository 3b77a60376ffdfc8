-- materialized: table
-- Clips per decode status and failure reason.
SELECT status,
       coalesce(error_kind, '') AS error_kind,
       count(*) AS clips,
       coalesce(sum(duration_s), 0) / 3600.0 AS hours
FROM {{ ref('clips') }}
GROUP BY ALL
ORDER BY status, error_kind
