"""Contracts every stage shares: where data lives under the data root (``layout``) and what a
domain code and a row status are (``domains``). The Dagster shell imports them; they import
nothing from the stages."""
