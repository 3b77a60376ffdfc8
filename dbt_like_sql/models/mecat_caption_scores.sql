-- One row per (scored system, MECAT-Caption group): clips, similarity, discrimination, DATE (×100);
-- group 'score' holds the final caption score.
SELECT * FROM {{ source('mecat_caption_scores') }}
