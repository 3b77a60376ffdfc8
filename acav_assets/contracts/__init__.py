"""Contracts every stage shares: where data lives under the data root (``layout``) and what a
domain code and a row status are (``domains``), and which failures stop a step (``failures``). The Dagster shell imports them; they import
nothing from the stages."""
