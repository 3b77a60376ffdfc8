"""Where the tests' real reference data lives inside the repository."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
# The evidence rows of the demo corpus, as the experts wrote them (real analyses of real clips).
DEMO_EVIDENCE_ROWS = DATA / "evidence_rows.json"
# A sample of the published MECAT references (Apache-2.0; see data/mecat_sample/SOURCE.md).
MECAT_SAMPLE = DATA / "mecat_sample"
MECAT_CAPTIONS = MECAT_SAMPLE / "caption" / "train"
MECAT_QA = MECAT_SAMPLE / "qa" / "train"
# One real MECAT reference file of the sample.
MECAT_SAMPLE_FILE = MECAT_CAPTIONS / "0MA.jsonl"
