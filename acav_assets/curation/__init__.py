"""Stage 4, curation and release: the filters a caption must pass, every drop with its reason, and
the published files."""
