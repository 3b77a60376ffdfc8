"""Stage 5, evaluation: the DATE metric, MECAT-Caption scoring and Table 2, the fluency penalty,
and the downstream probes of Table 3."""
