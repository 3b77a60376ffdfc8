-- The clips a release holds (Table 1's samples): curated, domain not 000, audio decoded, not a
-- corpus-wide duplicate (view).
SELECT key, c.shard, t.domain, c.duration_s
FROM (SELECT DISTINCT key, domain FROM {{ ref('caption_tokens') }} WHERE domain <> '000') AS t
JOIN {{ ref('clips') }} AS c USING (key)
WHERE c.status = 'ok'
  AND key NOT IN (SELECT key FROM {{ source('corpus_duplicates') }} WHERE key IS NOT NULL)
