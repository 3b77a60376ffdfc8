import dagster as dg

# One partition per shard of at most `shard_size` clips, added by the manifest sensor or
# `acav-assets register`.
shard_partitions = dg.DynamicPartitionsDefinition(name="shards")
