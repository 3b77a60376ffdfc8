-- The clips a release holds (Table 1's samples): curated, domain not 000, audio decoded (view).
SELECT key, c.shard, t.domain, c.duration_s
FROM (SELECT DISTINCT key, domain FROM {{ ref('caption_tokens') }} WHERE domain <> '000') AS t
JOIN {{ ref('clips') }} AS c USING (key)
WHERE c.status = 'ok'
