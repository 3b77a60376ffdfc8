"""Stage 5, training and downstream probes: checkpoints, captions for MECAT-Caption, Table 3.

A training run is a dynamic partition named after its run file
``{data_root}/training_runs/{run}.json`` (``acav-assets add-run NAME --config FILE``).
"""

import json
import shlex
import warnings
from pathlib import Path

import dagster as dg

from acav_assets.captions.schema import FACETS
from acav_assets.defs.curation import release
from acav_assets.defs.partitions import (
    run_task_partitions,
    system_partitions,
    training_run_partitions,
)
from acav_assets.defs.policies import GPU_STEP
from acav_assets.defs.resources import AcavSettings, launcher_command
from acav_assets.evaluation.downstream_tasks import (
    collected_scores,
    examples_markdown,
    load_tasks,
    run_probe,
    table3_markdown,
    task_examples,
)
from acav_assets.evaluation.mecat_scoring import load_predictions
from acav_assets.io import storage
from acav_assets.training.checkpoints import latest_checkpoint, read_curve
from acav_assets.training.config import load_run_file
from acav_assets.training.curves import loss_curve_markdown, loss_trend
from acav_assets.training.generation import (
    check_prediction_coverage,
    predict_captions,
    predictions_sample_markdown,
    write_prediction_csvs,
)

warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*MultiToSingleDimensionPartitionMapping.*")


def _paths(settings: AcavSettings, purpose: str):
    """The layout, refusing an object-store root with a clear, non-retried failure."""
    try:
        settings.layout.local_root(purpose)
    except ValueError as error:
        raise dg.Failure(str(error), allow_retries=False) from error
    return settings.layout


def _run(settings: AcavSettings, run: str):
    layout = _paths(settings, "training")
    try:
        config, sections = load_run_file(layout.training_run_file(run))
    except (FileNotFoundError, ValueError) as error:
        raise dg.Failure(f"training run {run}: {error}", allow_retries=False) from error
    if not config.train_data:
        config = config.with_changes(train_data=str(layout.release_webdataset()))
    return config, sections


def _latest(settings: AcavSettings, run: str) -> Path:
    checkpoint = latest_checkpoint(_paths(settings, "training").training_folder(run))
    if checkpoint is None:
        raise dg.Failure(f"training run {run} has no checkpoint: materialise caption_model [{run}] first",
                         allow_retries=False)
    return checkpoint


@dg.asset(
    partitions_def=training_run_partitions, group_name="training", deps=[release], kinds={"pytorch"},
    **GPU_STEP,
    description="Checkpoints of one training run (encoder → adapter → decoder; alignment: encoder, adapter "
    "and decoder LoRA trained; probe: adapter only) on the release's WebDataset shards. Resumes from the "
    "newest checkpoint, so a retry or re-materialisation continues where it stopped.",
)
def caption_model(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    run = context.partition_key
    config, _ = _run(settings, run)
    try:
        launcher = settings.training_launcher
    except ValueError as error:
        raise dg.Failure(str(error), allow_retries=False) from error
    if launcher:
        reported = _train_out_of_process(context, settings, run, config.train_data, launcher_command(launcher))
        curve = read_curve(_latest(settings, run) / "curve.csv")
        metadata = {**reported, "launcher": launcher}
    else:
        from acav_assets.training.loop import train

        result = train(config, settings.layout.training_folder(run), progress=context.log.info)
        if result.optimizer != config.optimizer:
            context.log.error("optimizer %s was asked for, %s was used (see the log above)", config.optimizer,
                              result.optimizer)
        curve = result.curve
        metadata = {
            "checkpoint": dg.MetadataValue.path(str(result.checkpoint)), "steps": result.steps,
            "resumed_from_step": result.resumed_from, "optimizer": result.optimizer,
            "trainable_parameters": result.trainable_parameters,
        }
    trend = loss_trend(curve)
    return dg.MaterializeResult(metadata={
        **metadata, "regime": config.regime,
        "first_loss": trend["first"], "last_loss": trend["last"],
        "samples_seen": curve[-1]["samples"] if curve else 0,
        "loss_curve": dg.MetadataValue.md(loss_curve_markdown(curve, f"Training loss: {run}")),
        "config": dg.MetadataValue.json(config.to_dict()),
    })


def _train_out_of_process(context: dg.AssetExecutionContext, settings: AcavSettings, run: str,
                          train_data: str, launcher: list[str]) -> dict:
    """``{launcher} -m acav_assets.defs.training_pipes_entry RUN_FILE OUT_DIR`` through Dagster Pipes: its
    logs stream into this run and its reported metadata comes back."""
    layout = settings.layout
    command = [*launcher, "-m", "acav_assets.defs.training_pipes_entry", str(layout.training_run_file(run)),
               str(layout.training_folder(run)), "--train-data", train_data]
    context.log.info("training out of process: %s", shlex.join(command))
    invocation = dg.PipesSubprocessClient().run(command=command, context=context)
    return dict(invocation.get_materialize_result().metadata)


@dg.asset_check(asset=caption_model, partitions_def=training_run_partitions)
def caption_model_loss_falls(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """Every logged loss is finite and the last tenth of the steps ends below the first tenth."""
    trend = loss_trend(read_curve(_latest(settings, context.partition_key) / "curve.csv"))
    return dg.AssetCheckResult(
        passed=bool(trend["falling"]),
        description=(f"loss {trend['first']:.4f} → {trend['last']:.4f} over {trend['steps']} steps"
                     if trend["steps"] else "no training steps recorded") + ("" if trend["finite"] else "; NOT finite"),
        metadata={k: v for k, v in trend.items() if v is not None},
    )


@dg.asset(
    partitions_def=training_run_partitions, group_name="training", deps=[caption_model], kinds={"csv"},
    **GPU_STEP,
    description="Captions of every clip of a WebDataset (the run file's predictions.data, else MECAT-Caption's "
    "audio shards from ACAV_MECAT_AUDIO, else the release) from the run's newest checkpoint: six CSVs {facet}.csv (key,text) "
    "under {data_root}/predictions/{run}/; the run is then a `systems` partition of mecat_caption_scores.",
)
def caption_predictions(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    from acav_assets.training.model_assembly import load_trained_model

    run = context.partition_key
    config, sections = _run(settings, run)
    options = sections["predictions"]
    data = options["data"] or settings.mecat_audio or config.train_data
    checkpoint = _latest(settings, run)
    context.log.info("captioning %s with %s", data, checkpoint)
    model = load_trained_model(checkpoint)
    predictions, failed = predict_captions(model, data, FACETS, options["batch_size"], options["max_new_tokens"],
                                           config.max_audio_seconds, options["limit"])
    folder = Path(settings.layout.predictions(run))
    write_prediction_csvs(predictions, folder)
    clips = sorted(predictions[FACETS[0]])
    (folder / "clips.json").write_text(json.dumps({"data": data, "checkpoint": str(checkpoint), "clips": clips,
                                                   "undecodable": failed}))
    if run not in context.instance.get_dynamic_partitions(system_partitions.name):
        context.instance.add_dynamic_partitions(system_partitions.name, [run])
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(folder)), "data": data, "checkpoint": str(checkpoint),
        "clips": len(clips), "undecodable_clips": len(failed), "system": run,
        "sample": dg.MetadataValue.md(predictions_sample_markdown(predictions, FACETS)),
    })


@dg.asset_check(asset=caption_predictions, partitions_def=training_run_partitions, blocking=True)
def predictions_cover_every_clip(context: dg.AssetCheckExecutionContext, settings: AcavSettings
                                 ) -> dg.AssetCheckResult:
    """Each of the six CSVs has one non-empty caption for every decodable clip, and no other key."""
    folder = Path(settings.layout.predictions(context.partition_key))
    expected = set(json.loads((folder / "clips.json").read_text())["clips"])
    texts = load_predictions([folder / f"{facet}.csv" for facet in FACETS], "verbatim")  # empty stays empty
    problems = check_prediction_coverage(texts, expected)
    return dg.AssetCheckResult(
        passed=not problems and bool(expected),
        description="every clip has six captions" if not problems and expected else
        ("no clip was captioned" if not expected else f"incomplete facets: {sorted(problems)}"),
        metadata={"clips": len(expected), "problems": dg.MetadataValue.json(problems)},
    )


@dg.asset(
    partitions_def=run_task_partitions, group_name="evaluation", kinds={"pytorch", "json"},
    deps=[dg.AssetDep(caption_model, partition_mapping=dg.MultiToSingleDimensionPartitionMapping("run"))],
    **GPU_STEP,
    description="Downstream probe (Table 3): the adapter alone is trained on the run's frozen encoder and "
    "decoder for one task, then scored (CER/WER with jiwer for ASR, accuracy for classification). Tasks and "
    "their manifest layouts: acav_assets/data/downstream_tasks.json; datasets under ACAV_DOWNSTREAM_ROOT.",
)
def downstream_scores(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    keys = context.partition_key.keys_by_dimension
    run, task_name = keys["run"], keys["task"]
    _, sections = _run(settings, run)
    options = sections["downstream"]
    task = load_tasks(options["tasks_file"] or None)[task_name]
    checkpoint = _latest(settings, run)
    try:
        train_examples = task_examples(task, "train", options["train_limit"])
        test_examples = task_examples(task, "test", options["test_limit"])
    except (FileNotFoundError, ValueError) as error:
        raise dg.Failure(f"{task_name}: {error}", allow_retries=False) from error
    layout = _paths(settings, "downstream probes")
    out = layout.local_root("downstream probes") / "downstream" / run / task_name
    result = run_probe(checkpoint, task, out, train_examples, test_examples, max_steps=options["max_steps"],
                       progress=context.log.info)
    with storage.atomic_writer(str(layout.downstream_scores(run, task_name))) as handle:
        handle.write(json.dumps({**result, "run": run, "caption_checkpoint": str(checkpoint)}, indent=2).encode())
    return dg.MaterializeResult(metadata={
        "metric": task.metric, "value": dg.MetadataValue.float(result["value"]), "column": task.column,
        "train_clips": result["train_clips"], "test_clips": result["test_clips"], "steps": result["steps"],
        "final_loss": result["final_loss"], "examples": dg.MetadataValue.md(examples_markdown(result["examples"])),
    })


@dg.asset(
    group_name="evaluation", kinds={"markdown"},
    deps=[dg.AssetDep(downstream_scores, partition_mapping=dg.AllPartitionMapping())],
    description="Table 3: the paper's rows beside every scored training run (– where a task is not scored).",
)
def downstream_table(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    root = _paths(settings, "downstream probes").local_root("downstream probes")
    scored = collected_scores(root / "downstream_scores")
    table = table3_markdown(scored)
    target = root / "downstream_table.md"
    with storage.atomic_writer(str(target)) as handle:
        handle.write(table.encode())
    context.log.info("Table 3 with %d scored run(s)", len(scored))
    return dg.MaterializeResult(metadata={
        "table3": dg.MetadataValue.md(table), "scored_runs": len(scored),
        "scores": sum(len(v) for v in scored.values()), "file": dg.MetadataValue.path(str(target)),
    })
