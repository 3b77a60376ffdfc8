"""Storage and formats: files under the data root (atomic writes), audio decoding and the shard
tars, WebDataset reading, Markdown, progress, and the OpenAI-compatible endpoint settings shared
by the LLM clients."""
