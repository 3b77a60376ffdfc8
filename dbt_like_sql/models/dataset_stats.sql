-- materialized: table
-- Decoded clips (samples, hours), decode and acoustics summaries, and the release's Table 1 row.
-- domains: decoded clips per routed domain; captioned_samples: curated clips (000 included);
-- released_*, captions and unique_tokens (Qwen3): the released clips, as Table 1 and the release count them.
SELECT '{{ var('dataset_name') }}' AS dataset,
       count(*) FILTER (WHERE c.status = 'ok') AS samples,
       coalesce(sum(c.duration_s) FILTER (WHERE c.status = 'ok'), 0) / 3600.0 AS hours,
       count(*) AS clips_planned,
       count(*) FILTER (WHERE c.status <> 'ok') AS clips_error,
       count(DISTINCT c.shard) AS shards,
       count(DISTINCT c.source_id) AS sources,
       (SELECT count(*) FROM {{ ref('acoustics') }} WHERE status = 'ok') AS clips_with_acoustics,
       (SELECT median(loudness_lufs) FROM {{ ref('acoustics') }} WHERE status = 'ok') AS median_loudness_lufs,
       (SELECT median(snr_db) FROM {{ ref('acoustics') }} WHERE status = 'ok') AS median_snr_db,
       (SELECT string_agg(domain || '=' || clips, ' ' ORDER BY domain) FROM {{ ref('domain_stats') }}) AS domains,
       (SELECT count(DISTINCT key) FROM {{ ref('caption_tokens') }}) AS captioned_samples,
       (SELECT count(*) FROM {{ ref('released_clips') }}) AS released_samples,
       (SELECT coalesce(sum(duration_s), 0) / 3600.0 FROM {{ ref('released_clips') }}) AS released_hours,
       (SELECT count(*) FROM {{ ref('caption_tokens') }}
        WHERE NOT absent AND key IN (SELECT key FROM {{ ref('released_clips') }})) AS captions,
       (SELECT count(DISTINCT token_id) FROM (SELECT unnest(token_ids) AS token_id FROM {{ ref('caption_tokens') }}
                                              WHERE NOT absent AND key IN (SELECT key FROM {{ ref('released_clips') }})))
           AS unique_tokens
FROM {{ ref('clips') }} AS c
