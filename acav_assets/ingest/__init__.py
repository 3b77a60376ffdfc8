"""Stage 1, ingest: manifests read and validated, sources cut into clips and shards (plans), each
clip decoded once into its shard's audio tar and the clips table."""
