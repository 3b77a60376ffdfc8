"""Stage 2, the experts: each is a spec (``spec.py``) listed in ``registry.py``, from which the
Dagster shell builds its asset and blocking check; ``evidence.py`` joins their tables per clip."""
