-- Every curated caption variant with its Qwen3 token ids (view over Parquet).
SELECT * FROM {{ source('caption_tokens') }}
