-- Decoded clips with their acoustics, for analysis.
SELECT c.key, c.shard, c.source_id, c.domain, c.duration_s, a.* EXCLUDE (key, shard, status, error),
       a.status AS acoustics_status, a.error AS acoustics_error
FROM {{ ref('clips') }} AS c
LEFT JOIN {{ ref('acoustics') }} AS a USING (key)
WHERE c.status = 'ok'
