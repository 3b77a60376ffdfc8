-- Table 2 of the paper: one row per scored system, DATE ×100 per group and the final score.
SELECT system,
       max(date) FILTER (WHERE "group" = 'content_long') AS content_long,
       max(date) FILTER (WHERE "group" = 'content_short') AS content_short,
       max(date) FILTER (WHERE "group" = 'pure_speech') AS pure_speech,
       max(date) FILTER (WHERE "group" = 'mixed_speech') AS mixed_speech,
       max(date) FILTER (WHERE "group" = 'pure_music') AS pure_music,
       max(date) FILTER (WHERE "group" = 'mixed_music') AS mixed_music,
       max(date) FILTER (WHERE "group" = 'pure_sound') AS pure_sound,
       max(date) FILTER (WHERE "group" = 'mixed_sound') AS mixed_sound,
       max(date) FILTER (WHERE "group" = 'environment') AS environment,
       max(date) FILTER (WHERE "group" = 'score') AS score,
       sum(n) FILTER (WHERE "group" = 'content_long') AS clips
FROM {{ ref('mecat_caption_scores') }}
GROUP BY system
ORDER BY system
