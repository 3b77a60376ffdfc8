"""Data-quality suites (great-expectations 1.x) that the blocking checks run."""
