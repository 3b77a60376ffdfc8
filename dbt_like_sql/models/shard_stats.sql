-- materialized: table
-- Per shard: clips planned, decoded and failed, and hours of decoded audio.
SELECT shard,
       count(*) AS clips,
       count(*) FILTER (WHERE status = 'ok') AS clips_ok,
       count(*) FILTER (WHERE status <> 'ok') AS clips_error,
       coalesce(sum(duration_s) FILTER (WHERE status = 'ok'), 0) / 3600.0 AS hours
FROM {{ ref('clips') }}
GROUP BY shard
ORDER BY shard
