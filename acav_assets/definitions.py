"""The code location: ``dg dev`` (or ``dagster dev -m acav_assets.definitions``).

Each stage's wiring is one module of ``acav_assets/defs`` (ingest, experts, captions, curation,
stats, evaluation, training); the functional core they call lives in the stage packages beside it.
"""

import dagster as dg

from acav_assets.defs import (
    captions,
    curation,
    evaluation,
    experts,
    ingest,
    stats,
    training,
)
from acav_assets.defs.code_versions import with_code_versions
from acav_assets.defs.jobs import STAGE_JOBS, ingest_job, statistics_job
from acav_assets.defs.resources import resources_from_env
from acav_assets.defs.schedules import build_backfill_schedule
from acav_assets.defs.sensors import manifest_sensor, roll_up_automation_sensor

STAGES = [ingest, experts, captions, curation, stats, evaluation, training]
RESOURCES = resources_from_env()
ASSETS = with_code_versions(dg.load_assets_from_modules(STAGES), RESOURCES)
CHECKS = dg.load_asset_checks_from_modules(STAGES)

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[ingest_job, statistics_job, *STAGE_JOBS],
    schedules=[build_backfill_schedule(ASSETS)],
    sensors=[manifest_sensor, roll_up_automation_sensor],
    resources=RESOURCES,
)
