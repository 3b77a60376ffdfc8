"""Statistics: Table 1 (hours, samples, unique Qwen3 tokens), caption-corpus readers, and the
DuckDB warehouse built from the SQL models in dbt_like_sql/."""
