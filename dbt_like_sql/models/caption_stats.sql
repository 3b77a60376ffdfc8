-- materialized: table
-- Per facet: captions written (absent "None" facets excluded), length in words and Qwen3 vocabulary.
WITH present AS (SELECT * FROM {{ ref('caption_tokens') }} WHERE NOT absent)
SELECT p.facet,
       count(*) AS captions,
       avg(p.words) AS mean_words,
       quantile_cont(p.words, 0.5) AS p50_words,
       quantile_cont(p.words, 0.9) AS p90_words,
       (SELECT count(DISTINCT t.token_id) FROM (SELECT unnest(token_ids) AS token_id FROM present AS q
                                                WHERE q.facet = p.facet) AS t) AS unique_tokens
FROM present AS p
GROUP BY p.facet
ORDER BY p.facet
