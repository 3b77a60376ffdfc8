"""Stage 3, captions: the caption record and reply schema, the LLM prompt and request layer, the
offline synthesiser, and one shard's captions table."""
