"""Training and downstream evaluation: checkpoints, captions for MECAT-Caption, Table 3.

A training run is a dynamic partition named after its run file
``{data_root}/training_runs/{run}.json`` (``acav-assets add-run NAME --config FILE``).
"""

import json
import warnings
from pathlib import Path

import dagster as dg

from acav_assets.io import storage
from acav_assets.captions.schema import FACETS
from acav_assets.defs import evaluation_assets
from acav_assets.defs.partitions import run_task_partitions, system_partitions, training_run_partitions
from acav_assets.defs.policies import TRANSIENT_RETRY
from acav_assets.defs.release_assets import release
from acav_assets.defs.resources import AcavSettings
from acav_assets.evaluation.downstream_tasks import load_tasks

warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*MultiToSingleDimensionPartitionMapping.*")



def _local_root(settings: AcavSettings) -> Path:
    local = storage.local_path(settings.data_root)
    if local is None:
        raise dg.Failure("training reads and writes a local folder: set ACAV_DATA_ROOT to a local path "
                         "(or a mounted bucket)")
    return Path(local)


def run_file(settings: AcavSettings, run: str) -> Path:
    return _local_root(settings) / "training_runs" / f"{run}.json"


def training_folder(settings: AcavSettings, run: str) -> Path:
    return _local_root(settings) / "training" / run


def predictions_folder(settings: AcavSettings, run: str) -> Path:
    """The run's six CSVs, where mecat_caption_scores looks for the system of the same name."""
    _local_root(settings)  # refuses an object-store data root with a clear message
    return Path(evaluation_assets.predictions_folder(settings, run))


def downstream_score_file(settings: AcavSettings, run: str, task: str) -> Path:
    return _local_root(settings) / "downstream_scores" / run / f"{task}.json"


def _run(settings: AcavSettings, run: str):
    from acav_assets.training.config import load_run_file

    try:
        config, sections = load_run_file(run_file(settings, run))
    except (FileNotFoundError, ValueError) as error:
        raise dg.Failure(f"training run {run}: {error}", allow_retries=False) from error
    if not config.train_data:
        config = config.with_changes(train_data=str(_local_root(settings) / "release" / "webdataset"))
    return config, sections


def _latest(settings: AcavSettings, run: str) -> Path:
    from acav_assets.training.checkpoints import latest_checkpoint

    checkpoint = latest_checkpoint(training_folder(settings, run))
    if checkpoint is None:
        raise dg.Failure(f"training run {run} has no checkpoint: materialise caption_model [{run}] first",
                         allow_retries=False)
    return checkpoint


@dg.asset(
    partitions_def=training_run_partitions, group_name="training", deps=[release], kinds={"pytorch"},
    pool="gpu", retry_policy=TRANSIENT_RETRY,
    description="Checkpoints of one training run (encoder → adapter → decoder; alignment: encoder, adapter "
    "and decoder LoRA trained; probe: adapter only) on the release's WebDataset shards. Resumes from the "
    "newest checkpoint, so a retry or re-materialisation continues where it stopped.",
)
def caption_model(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    from acav_assets.training.checkpoints import read_curve
    from acav_assets.training.curves import loss_curve_markdown, loss_trend

    run = context.partition_key
    config, _ = _run(settings, run)
    if settings.training_launcher:
        reported = _train_out_of_process(context, settings, run, config.train_data)
        curve = read_curve(_latest(settings, run) / "curve.csv")
        metadata = {**reported, "launcher": settings.training_launcher}
    else:
        from acav_assets.training.loop import train

        result = train(config, training_folder(settings, run), progress=context.log.info)
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
                          train_data: str) -> dict:
    """``{launcher} -m acav_assets.defs.training_pipes_entry RUN_FILE OUT_DIR`` through Dagster Pipes: its
    logs stream into this run and its reported metadata comes back."""
    import shlex
    import sys

    launcher = shlex.split(settings.training_launcher)
    if launcher == ["python"]:
        launcher = [sys.executable]  # this environment's interpreter
    command = [*launcher, "-m", "acav_assets.defs.training_pipes_entry", str(run_file(settings, run)),
               str(training_folder(settings, run)), "--train-data", train_data]
    context.log.info("training out of process: %s", shlex.join(command))
    invocation = dg.PipesSubprocessClient().run(command=command, context=context)
    return dict(invocation.get_materialize_result().metadata)


@dg.asset_check(asset=caption_model, partitions_def=training_run_partitions)
def caption_model_loss_falls(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """Every logged loss is finite and the last tenth of the steps ends below the first tenth."""
    from acav_assets.training.checkpoints import read_curve
    from acav_assets.training.curves import loss_trend

    trend = loss_trend(read_curve(_latest(settings, context.partition_key) / "curve.csv"))
    return dg.AssetCheckResult(
        passed=bool(trend["falling"]),
        description=(f"loss {trend['first']:.4f} → {trend['last']:.4f} over {trend['steps']} steps"
                     if trend["steps"] else "no training steps recorded") + ("" if trend["finite"] else "; NOT finite"),
        metadata={k: v for k, v in trend.items() if v is not None},
    )


@dg.asset(
    partitions_def=training_run_partitions, group_name="training", deps=[caption_model], kinds={"csv"},
    pool="gpu", retry_policy=TRANSIENT_RETRY,
    description="Captions of every clip of a WebDataset (the run file's predictions.data, else MECAT-Caption's "
    "audio shards from ACAV_MECAT_AUDIO, else the release) from the run's newest checkpoint: six CSVs {facet}.csv (key,text) "
    "under {data_root}/predictions/{run}/; the run is then a `systems` partition of mecat_caption_scores.",
)
def caption_predictions(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    from acav_assets.training.generation import predict_captions, write_prediction_csvs
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
    folder = predictions_folder(settings, run)
    write_prediction_csvs(predictions, folder)
    clips = sorted(predictions[FACETS[0]])
    (folder / "clips.json").write_text(json.dumps({"data": data, "checkpoint": str(checkpoint), "clips": clips,
                                                   "undecodable": failed}))
    if run not in context.instance.get_dynamic_partitions(system_partitions.name):
        context.instance.add_dynamic_partitions(system_partitions.name, [run])
    sample = "\n".join(["| key | facet | caption |", "|---|---|---|"] + [
        f"| {key} | {facet} | {predictions[facet][key].replace('|', '/')[:200]} |"
        for key in clips[:3] for facet in FACETS])
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(folder)), "data": data, "checkpoint": str(checkpoint),
        "clips": len(clips), "undecodable_clips": len(failed), "system": run,
        "sample": dg.MetadataValue.md(sample),
    })


@dg.asset_check(asset=caption_predictions, partitions_def=training_run_partitions, blocking=True)
def predictions_cover_every_clip(context: dg.AssetCheckExecutionContext, settings: AcavSettings
                                 ) -> dg.AssetCheckResult:
    """Each of the six CSVs has one non-empty caption for every decodable clip, and no other key."""
    from acav_assets.evaluation.mecat_scoring import load_predictions

    folder = predictions_folder(settings, context.partition_key)
    expected = set(json.loads((folder / "clips.json").read_text())["clips"])
    predictions = load_predictions([folder / f"{facet}.csv" for facet in FACETS])
    problems = {}
    for facet, texts in predictions.items():
        missing, extra = expected - set(texts), set(texts) - expected
        empty = [k for k, v in texts.items() if not v.strip()]
        if missing or extra or empty:
            problems[facet] = {"missing": sorted(missing)[:10], "unexpected": sorted(extra)[:10], "empty": empty[:10]}
    return dg.AssetCheckResult(
        passed=not problems and bool(expected),
        description="every clip has six captions" if not problems and expected else
        ("no clip was captioned" if not expected else f"incomplete facets: {sorted(problems)}"),
        metadata={"clips": len(expected), "problems": dg.MetadataValue.json(problems)},
    )


@dg.asset(
    partitions_def=run_task_partitions, group_name="evaluation", kinds={"pytorch", "json"},
    deps=[dg.AssetDep(caption_model, partition_mapping=dg.MultiToSingleDimensionPartitionMapping("run"))],
    pool="gpu", retry_policy=TRANSIENT_RETRY,
    description="Downstream probe (Table 3): the adapter alone is trained on the run's frozen encoder and "
    "decoder for one task, then scored (CER/WER with jiwer for ASR, accuracy for classification). Tasks and "
    "their manifest layouts: acav_assets/data/downstream_tasks.json; datasets under ACAV_DOWNSTREAM_ROOT.",
)
def downstream_scores(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    from acav_assets.evaluation.downstream_tasks import run_probe, task_examples

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
    out = _local_root(settings) / "downstream" / run / task_name
    result = run_probe(checkpoint, task, out, train_examples, test_examples, max_steps=options["max_steps"],
                       progress=context.log.info)
    target = downstream_score_file(settings, run, task_name)
    with storage.atomic_writer(str(target)) as handle:
        handle.write(json.dumps({**result, "run": run, "caption_checkpoint": str(checkpoint)}, indent=2).encode())
    examples = "\n".join(["| reference | prediction |", "|---|---|"] + [
        f"| {e['reference'].replace('|', '/')} | {e['prediction'].replace('|', '/')} |" for e in result["examples"]])
    return dg.MaterializeResult(metadata={
        "metric": task.metric, "value": dg.MetadataValue.float(result["value"]), "column": task.column,
        "train_clips": result["train_clips"], "test_clips": result["test_clips"], "steps": result["steps"],
        "final_loss": result["final_loss"], "examples": dg.MetadataValue.md(examples),
    })


@dg.asset(
    group_name="evaluation", kinds={"markdown"},
    deps=[dg.AssetDep(downstream_scores, partition_mapping=dg.AllPartitionMapping())],
    description="Table 3: the paper's rows beside every scored training run (– where a task is not scored).",
)
def downstream_table(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    from acav_assets.evaluation.downstream_tasks import table3_markdown

    scored: dict[str, dict[str, float]] = {}
    root = _local_root(settings) / "downstream_scores"
    for path in sorted(root.glob("*/*.json")) if root.is_dir() else []:
        entry = json.loads(path.read_text())
        scored.setdefault(entry["run"], {})[entry["task"]] = entry["value"]
    table = table3_markdown(scored)
    storage_path = _local_root(settings) / "downstream_table.md"
    with storage.atomic_writer(str(storage_path)) as handle:
        handle.write(table.encode())
    context.log.info("Table 3 with %d scored run(s)", len(scored))
    return dg.MaterializeResult(metadata={
        "table3": dg.MetadataValue.md(table), "scored_runs": len(scored),
        "scores": sum(len(v) for v in scored.values()), "file": dg.MetadataValue.path(str(storage_path)),
    })
