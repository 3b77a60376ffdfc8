"""The Dagster shell, one module per stage (ingest, experts, captions, curation, stats, evaluation,
training) plus the shared wiring: resources (the only reader of the environment), partitions,
policies, jobs, schedule, sensor, and how results become metadata. It holds no analysis: every
loop over clips, SQL string and quality suite lives in the core."""
