"""acav-assets: ACAVCaps-style multi-faceted audio captioning as a Dagster asset graph."""

__version__ = "0.1.0"
