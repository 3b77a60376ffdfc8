"""Stage progress: the rate, the time left when the total is known, and the totals for benchmarks."""

import logging

from acav_assets.io.progress import PROGRESS_LOGGER, ShardProgress


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_reports_time_left_and_final_totals():
    run_log, mirror = logging.getLogger("a-run-log"), logging.getLogger(PROGRESS_LOGGER)
    seen, mirrored = _Records(), _Records()
    run_log.addHandler(seen)
    mirror.addHandler(mirrored)
    run_log.setLevel(logging.INFO)
    mirror.setLevel(logging.INFO)
    try:
        progress = ShardProgress("speech", total=4, log=run_log, every_s=0.0)
        progress.add(10.0)
        progress.add(10.0)
        progress.finish(failed=1)
    finally:
        run_log.removeHandler(seen)
        mirror.removeHandler(mirrored)
    messages = [r.getMessage() for r in seen.records]
    assert messages[0].startswith("speech: 1/4 clips, 10 s of audio") and "left" in messages[0]
    assert messages[-1].startswith("speech: 2 clips (1 failed), 20 s of audio")
    assert [r.getMessage() for r in mirrored.records] == messages  # the CLI sees what the run log sees
    totals = mirrored.records[-1].stage_totals
    assert (totals["stage"], totals["clips"], totals["failed"], totals["audio_seconds"]) == ("speech", 2, 1, 20.0)
