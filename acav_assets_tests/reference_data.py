"""Where the tests' real reference data lives inside the repository."""

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
# A sample of the published MECAT references (Apache-2.0; see data/mecat_sample/SOURCE.md).
MECAT_SAMPLE = DATA / "mecat_sample"
MECAT_CAPTIONS = MECAT_SAMPLE / "caption" / "train"
MECAT_QA = MECAT_SAMPLE / "qa" / "train"
