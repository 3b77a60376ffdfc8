"""The code location: ``dagster dev -m acav_assets.definitions``."""

import dagster as dg

from acav_assets.defs import assets, caption_assets, checks, evaluation_assets, expert_assets, expert_checks, release_assets
from acav_assets.defs import training_assets
from acav_assets.defs.jobs import STAGE_JOBS, ingest_job, statistics_job
from acav_assets.defs.models import CaptionLlmResource, LalmResource, SpeechModelsResource, TaggerResource
from acav_assets.defs.resources import AcavSettings
from acav_assets.defs.schedules import build_backfill_schedule
from acav_assets.defs.sensors import manifest_sensor

ASSETS = dg.load_assets_from_modules([assets, expert_assets, caption_assets, release_assets, evaluation_assets,
                                     training_assets])

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=dg.load_asset_checks_from_modules([checks, expert_checks, caption_assets, release_assets, evaluation_assets,
                                                     training_assets]),
    jobs=[ingest_job, statistics_job, *STAGE_JOBS],
    schedules=[build_backfill_schedule(ASSETS)],
    sensors=[manifest_sensor],
    resources={
        "settings": AcavSettings.from_env(),
        "tagger": TaggerResource.from_env(),
        "speech_models": SpeechModelsResource.from_env(),
        "lalm": LalmResource.from_env(),
        "caption_llm": CaptionLlmResource.from_env(),
    },
)
