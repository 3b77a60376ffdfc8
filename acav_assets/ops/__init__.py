"""Operations: which shards are due after an interruption or for the nightly backfill."""
