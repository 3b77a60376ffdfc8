"""``acav-assets``: register manifests as shards, materialise them, run the demo, print statistics.

Materialisation runs in long-lived worker processes (``defs/run_pool.py``) against the instance
in DAGSTER_HOME, so models load once per worker and every run is visible in the Dagster UI.
"""

from __future__ import annotations

import os
import sys
import typing
from pathlib import Path
from typing import Annotated, Literal

import click
import typer

from acav_assets.defs.run_pool import RunPool, RunRequest

DEMO_MANIFEST = Path(__file__).resolve().parent / "demo_corpus" / "manifest.csv"
PER_SHARD_SELECTION = "group:ingest or group:experts or group:captions or group:curation"
STATISTICS_SELECTION = "group:release or group:statistics"
DEMO_SHARD_SIZE = 12


def _prepare_environment(data_root: str | None) -> dict[str, str]:
    """ACAV_DATA_ROOT and DAGSTER_HOME for this command and the runs it starts."""
    if data_root:
        os.environ["ACAV_DATA_ROOT"] = data_root if "://" in data_root else str(Path(data_root).resolve())
    from acav_assets.defs.resources import AcavSettings

    settings = AcavSettings.from_env()
    if not os.environ.get("DAGSTER_HOME"):
        local_root = settings.data_root if "://" not in settings.data_root else str(Path.cwd())
        os.environ["DAGSTER_HOME"] = str(Path(local_root) / "dagster_home")
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").touch()
    return {"ACAV_DATA_ROOT": settings.data_root, "DAGSTER_HOME": os.environ["DAGSTER_HOME"]}


def register(manifest: str, prefix: str | None = None) -> list[str]:
    """Plan a manifest into shards, store the plans and add the shards as dynamic partitions; the
    shards it no longer produces (it shrank) are retired and their partitions deleted."""
    import dagster as dg

    from acav_assets.defs.partitions import shard_partitions
    from acav_assets.defs.resources import AcavSettings
    from acav_assets.ingest.shard_plans import (
        plan_shards,
        retire_orphaned_shards,
        store_shard_plans,
    )

    settings = AcavSettings.from_env()
    shards = plan_shards(manifest, settings.clip_seconds, settings.min_clip_seconds, settings.shard_size, prefix,
                         max_clip_seconds=settings.max_clip_seconds)
    written = store_shard_plans(shards, settings.data_root)
    retired = retire_orphaned_shards(settings.data_root, manifest, shards)
    with dg.DagsterInstance.get() as instance:
        existing = set(instance.get_dynamic_partitions(shard_partitions.name))
        new = [s for s in shards if s not in existing]
        if new:
            instance.add_dynamic_partitions(shard_partitions.name, new)
        for shard in retired:
            if shard in existing:
                instance.delete_dynamic_partition(shard_partitions.name, shard)
    clips = sum(t.num_rows for t in shards.values())
    print(f"{manifest}: {clips} clips in {len(shards)} shards ({len(new)} new partitions, {len(written)} plans written)")
    if retired:
        print(f"retired {len(retired)} shards it no longer produces (outputs moved to _retired/): {', '.join(retired)}")
    return list(shards)


def _materialize(requests: list[RunRequest], workers: int = 1) -> bool:
    """Execute ``requests`` in long-lived worker processes (models load once per worker); every
    run is recorded in the instance, so it shows in the Dagster UI. Runs launched from the UI or
    a backfill keep Dagster's own executor."""
    with RunPool(workers) as pool:
        return all(outcome.success for outcome in pool.run(requests))


def due_work(shards: list[str]) -> dict[str, list[str]]:
    """For each of ``shards`` with outputs missing or older than their inputs, the assets to recompute."""
    from acav_assets.contracts.layout import PLANS
    from acav_assets.definitions import ASSETS
    from acav_assets.defs.resources import AcavSettings
    from acav_assets.defs.schedules import per_shard_dependencies
    from acav_assets.ops.shard_freshness import (
        due_shards,
        modification_times,
        refusal_times,
        remove_partial_files,
    )

    dependencies = per_shard_dependencies(ASSETS)
    data_root = AcavSettings.from_env().data_root
    times = modification_times(data_root, [PLANS, *dependencies])
    refused = refusal_times(data_root, dependencies)
    due = {item.shard: list(item.assets) for item in due_shards(shards, dependencies, times, refused=refused)}
    for name in remove_partial_files(data_root, [*dependencies, "audio"], due):
        print(f"removed {name}, left by an interrupted run")
    return due


def materialize(shards: list[str] | None = None, resume: bool = False, workers: int = 1) -> bool:
    """Materialise the per-shard assets of ``shards`` (default: every registered shard), then the
    statistics. With ``resume``, only what is missing or older than its inputs is recomputed."""
    import dagster as dg

    from acav_assets.defs.partitions import shard_partitions

    if shards is None:
        with dg.DagsterInstance.get() as instance:
            shards = sorted(instance.get_dynamic_partitions(shard_partitions.name))
    if not shards:
        print("no shards registered: run `acav-assets register MANIFEST` first")
        return False
    statistics = RunRequest(STATISTICS_SELECTION, label="release and statistics (all shards)")
    if resume:
        due = due_work(shards)
        for shard in shards:
            if shard not in due:
                print(f"shard {shard} is up to date")
        requests = [RunRequest(" or ".join(f'key:"{asset}"' for asset in assets), shard,
                               f"shard {shard} ({', '.join(assets)})")
                    for shard, assets in due.items()]
    else:
        requests = [RunRequest(PER_SHARD_SELECTION, shard, f"shard {shard} (decode, experts, captions, curation)")
                    for shard in shards]
    print(f"{len(requests)} shard run(s) on {workers} worker process(es), then the release and statistics")
    with RunPool(workers) as pool:
        shards_ok = all(outcome.success for outcome in pool.run(requests))
        return pool.run([statistics])[0].success and shards_ok


def print_stats() -> None:
    from acav_assets.defs.resources import AcavSettings
    from acav_assets.io.markdown import markdown_table, significant
    from acav_assets.stats import warehouse

    reports = warehouse.reports(AcavSettings.from_env().database)
    for name in ("dataset_stats", "shard_stats", "status_stats", "domain_stats"):
        print(f"\n{name}\n" + markdown_table(reports[name], significant(4)).rstrip("\n"))


def print_caption_stats(specs: list[str], facets: bool = False) -> None:
    import pyarrow as pa

    from acav_assets.io.markdown import markdown_table
    from acav_assets.stats.caption_corpora import read_corpus
    from acav_assets.stats.token_stats import (
        caption_tokens,
        dataset_statistics,
        facet_statistics,
    )

    captions = pa.concat_tables([read_corpus(spec) for spec in specs])
    tokens = caption_tokens(captions)
    print(markdown_table(dataset_statistics(captions, tokens=tokens)))
    if facets:
        print("\n" + markdown_table(facet_statistics(captions, tokens=tokens)))


def print_date_scores(references: str, predictions: list[str], model: str, fluency_checker: str = "",
                      input_mode: str = "mecat") -> None:
    from acav_assets.evaluation.date_metric import (
        DEFAULT_MODEL_ID,
        TextEncoder,
        packaged_encoder,
    )
    from acav_assets.evaluation.fluency_checker import FluencyChecker
    from acav_assets.evaluation.mecat_scoring import (
        absent_groups,
        load_predictions,
        load_references,
        score_groups,
    )

    encoder = packaged_encoder() if model == "packaged" else TextEncoder(model or DEFAULT_MODEL_ID)
    fluency = FluencyChecker(fluency_checker) if fluency_checker else None
    scores = score_groups(load_references(references), load_predictions(predictions, input_mode), encoder, fluency,
                          input_mode=input_mode)
    absent = absent_groups(scores)
    cells = ["n/a" if v is None else f"{v:.1f}" for v in scores.values()]
    if absent:
        cells[-1] += "*"
    print("| " + " | ".join(scores) + " |\n|" + "---|" * len(scores))
    print("| " + " | ".join(cells) + " |")
    if absent:
        print(f"\n* no clips for {', '.join(absent)}: counted as 0 in the score, as the official evaluator does")


def add_system(name: str, predictions: list[str], score: bool) -> bool:
    """Copy a system's predictions CSVs to {data_root}/predictions/{name}/, register it as a
    `systems` partition and, with ``score``, materialise its scores and Table 2."""
    import shutil

    import dagster as dg

    from acav_assets.defs.partitions import system_partitions
    from acav_assets.defs.resources import AcavSettings
    from acav_assets.evaluation.mecat_scoring import load_predictions
    from acav_assets.stats.caption_corpora import ACAV_FACETS

    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"invalid system name {name!r}")
    load_predictions(predictions)  # refuse malformed files before anything is written
    layout = AcavSettings.from_env().layout
    if not layout.is_local:
        raise ValueError("add-system copies to a local data root; upload the CSVs to {data_root}/predictions/NAME/")
    folder = Path(layout.predictions(name))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    targets = ["predictions.csv"] if len(predictions) == 1 else [f"{facet}.csv" for facet in ACAV_FACETS]
    for source, target in zip(predictions, targets):
        shutil.copyfile(source, folder / target)
    with dg.DagsterInstance.get() as instance:
        if name not in instance.get_dynamic_partitions(system_partitions.name):
            instance.add_dynamic_partitions(system_partitions.name, [name])
    print(f"system {name}: {len(predictions)} predictions file(s) in {folder}")
    if not score:
        return True
    return (_materialize([RunRequest("mecat_caption_scores", name, f"mecat_caption_scores [{name}]")])
            and _materialize([RunRequest("caption_benchmark_table", label="caption_benchmark_table")]))


def add_run(name: str, config: str) -> None:
    """Check a training run file, copy it to {data_root}/training_runs/{name}.json and register
    the run as a `training_runs` partition (caption_model, caption_predictions, downstream_scores)."""
    import shutil

    import dagster as dg

    from acav_assets.defs.partitions import training_run_partitions
    from acav_assets.defs.resources import AcavSettings
    from acav_assets.training.config import load_run_file

    if not name or "/" in name or name.startswith(".") or "|" in name:
        raise ValueError(f"invalid run name {name!r}")
    load_run_file(config)  # refuse a malformed run before anything is written
    target = AcavSettings.from_env().layout.training_run_file(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config, target)
    with dg.DagsterInstance.get() as instance:
        if name not in instance.get_dynamic_partitions(training_run_partitions.name):
            instance.add_dynamic_partitions(training_run_partitions.name, [name])
    print(f"training run {name}: {target}; materialise caption_model --partition {name}")


def calibrate_routing(manifest: str, out: str, folds: int, split_column: str, fit: str, report: str) -> None:
    """Tag a manifest with a `domain` column once, print how the current routing thresholds do,
    fit new ones with folds grouped by source and write them, with provenance, to ``out``."""
    from datetime import UTC, datetime

    from acav_assets.defs.resources import AcavSettings, TaggerResource
    from acav_assets.experts import routing_calibration as rc
    from acav_assets.experts.routing import ContentGroups, thresholds_from
    from acav_assets.experts.tagging.audioset_ontology import load_ontology
    from acav_assets.ingest.manifests import plan_clips, read_manifest
    from acav_assets.io.audio_decoding import probe_duration

    settings = AcavSettings.from_env()
    current = thresholds_from(settings.model_dump())
    clips = plan_clips(read_manifest(manifest), probe_duration, settings.clip_seconds, settings.min_clip_seconds,
                       settings.max_clip_seconds)
    tagger = TaggerResource.from_env().load()
    tagger_name = getattr(tagger, "model_id", type(tagger).__name__)
    print(f"{manifest}: {len(clips)} clips; tagging with {tagger_name}")
    groups = ContentGroups.from_labels(tagger.label_mids, load_ontology())
    evidence, skipped = rc.collect_evidence(clips, tagger, groups, split_column, settings.max_clip_seconds)
    if skipped:
        print(f"left out {len(skipped)} clips:\n" + "\n".join(f"  {reason}" for reason in skipped))
    split = any(clip.split is not None for clip in evidence)
    result = rc.calibrate(evidence, current, folds, fit if split else None, report if split else None)
    print("\n" + rc.calibration_text(result))
    image = rc.write_thresholds_file(out, result.thresholds, {
        "manifest": manifest, "tagger": tagger_name, "profile": settings.profile,
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "n_clips": result.n_fit,
        "folds": folds, "cv_accuracy": result.cv_accuracy, "fit_accuracy": result.fit_accuracy,
        "split": {"column": split_column, "fit": fit, "report": report} if split else None,
        "heldout_accuracy": result.heldout.accuracy, "heldout_clips": result.heldout.n,
        "previous_thresholds": current.__dict__,
    }, confusion=result.heldout.matrix)
    print(f"wrote {out}; the pipeline uses it with ACAV_ROUTING_THRESHOLDS_FILE={Path(out).resolve()}")
    print(f"confusion heatmap (recorded x routed, held out): {image}")


def push_release(repo_id: str, private: bool, folder: str | None) -> None:
    """Upload the release folder to the dataset repo ``repo_id`` (token from HF_TOKEN)."""
    from acav_assets.curation.hub_upload import push_release as push
    from acav_assets.defs.resources import AcavSettings

    folder = folder or str(AcavSettings.from_env().layout.release_folder())
    commit = push(folder, repo_id, private)
    print(f"pushed {folder} to the dataset repo {repo_id}: {getattr(commit, 'commit_url', commit)}")


def export_release(kind: str, out: str, facet: str, folder: str | None) -> None:
    """Lhotse or NeMo manifests (and the clips' FLAC files) of the release in ``out``."""
    from acav_assets.curation.exporters import export
    from acav_assets.defs.resources import AcavSettings

    folder = folder or str(AcavSettings.from_env().layout.release_folder())
    counts = export(kind, folder, out, facet)
    print(f"{kind} manifests of {folder} in {out}: " + ", ".join(f"{split} {n} clips" for split, n in counts.items()))


app = typer.Typer(
    name="acav-assets",
    help="Register manifests as shards, materialise them, run the demo, print statistics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

PREDICTIONS_HELP = "one CSV (key,text) or six: long short speech music sound environment"
RELEASE_FOLDER_HELP = "release folder (default: {data_root}/release)"


def _print_version(requested: bool) -> None:
    if requested:
        from importlib.metadata import version

        print(f"acav-assets {version('acav-assets')}")
        raise typer.Exit()


@app.callback()
def global_options(
    ctx: typer.Context,
    data_root: Annotated[str | None, typer.Option(
        help="where assets are written (default: $ACAV_DATA_ROOT or ./acav_data)")] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="print the installed version and exit")] = False,
) -> None:
    # The environment is prepared by each command, after all arguments have parsed.
    ctx.obj = data_root


@app.command("register", help="plan a manifest (CSV, JSONL, Parquet or audio folder) into shards")
def register_command(
    ctx: typer.Context,
    manifest: Annotated[str, typer.Argument(help="manifest file or audio folder")],
    prefix: Annotated[str | None, typer.Option(help="shard name prefix (default: the manifest's name)")] = None,
) -> None:
    _prepare_environment(ctx.obj)
    register(manifest, prefix)


@app.command("materialize", help="materialise registered shards and the statistics")
def materialize_command(
    ctx: typer.Context,
    shard: Annotated[list[str] | None, typer.Option(help="only this shard (repeatable)")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume",
        help="only the outputs that are missing or older than their inputs (after an interrupted run)")] = False,
    workers: Annotated[int, typer.Option(
        envvar="ACAV_CLI_WORKERS", show_envvar=False, show_default=False,
        help="shards materialised at once, each in its own long-lived process that loads the models once "
        "(default: $ACAV_CLI_WORKERS or 1; each worker's models already use every core)")] = 1,
) -> None:
    _prepare_environment(ctx.obj)
    if not materialize(shard or None, resume, workers):
        raise typer.Exit(1)


@app.command("stats", help="print the statistics tables from DuckDB")
def stats_command(ctx: typer.Context) -> None:
    _prepare_environment(ctx.obj)
    print_stats()


@app.command("caption-stats",
             help="Table 1 statistics (hours, samples, unique Qwen3 tokens) of published caption files")
def caption_stats_command(
    ctx: typer.Context,
    datasets: Annotated[list[str], typer.Argument(
        metavar="NAME=FORMAT:PATH...",
        help="FORMAT: acav (ACAVCaps/MECAT JSON lines, file or folder), audiocaps, clotho, wavcaps, audiosetcaps")],
    facets: Annotated[bool, typer.Option("--facets", help="also print the per-facet statistics")] = False,
) -> None:
    _prepare_environment(ctx.obj)
    print_caption_stats(datasets, facets)


@app.command(
    "date-score", short_help="MECAT-Caption DATE scores of prediction CSVs (Table 2 row)",
    help="DATE per group and the final score (×100). A group without clips shows n/a and counts as 0 "
    "in the score, as in the official evaluator; the score is then marked with *.")
def date_score_command(
    ctx: typer.Context,
    predictions: Annotated[list[str], typer.Argument(help=PREDICTIONS_HELP)],
    references: Annotated[str, typer.Option(help="folder of MECAT caption JSON lines")],
    model: Annotated[str, typer.Option(
        help="sentence-transformers model folder or hub id (default: paraphrase-TinyBERT-L6-v2 from the hub; "
        "'packaged' = the offline all-MiniLM-L6-v2)", show_default=False)] = "",
    fluency_checker: Annotated[str, typer.Option(
        help="FENSE error-checker checkpoint (echecker_clotho_audiocaps_base.ckpt) for the fluency penalty; "
        "default: no penalty", show_default=False)] = "",
    input_mode: Annotated[Literal["mecat", "verbatim"], typer.Option(
        help="mecat (default): read the CSVs and pick clips as the official mecat package does, so the numbers "
        "match it: pandas reads a caption written None, NA, null, nan or empty as 'nan' and reference clips "
        "without a prediction are skipped. verbatim: captions exactly as written, and a clip without a "
        "prediction is scored as an empty caption")] = "mecat",
) -> None:
    _prepare_environment(ctx.obj)
    print_date_scores(references, predictions, model, fluency_checker, input_mode)


@app.command("add-system", help="register a predictions CSV (or six) as a scored system "
             "(partition of mecat_caption_scores)")
def add_system_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="system name: its folder under {data_root}/predictions/")],
    predictions: Annotated[list[str], typer.Argument(help=PREDICTIONS_HELP)],
    score: Annotated[bool, typer.Option(
        "--score", help="also materialise its scores and Table 2 (needs ACAV_MECAT_REFERENCES)")] = False,
) -> None:
    _prepare_environment(ctx.obj)
    if not add_system(name, predictions, score):
        raise typer.Exit(1)


@app.command("add-run", help="register a training run config (partition of caption_model)")
def add_run_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="run name: the caption_model partition")],
    config: Annotated[str, typer.Option(
        help="run file: TrainingConfig fields (JSON), optional predictions and downstream sections")],
) -> None:
    _prepare_environment(ctx.obj)
    add_run(name, config)


@app.command("calibrate", help="fit the routing thresholds to a manifest's recorded domains")
def calibrate_command(
    ctx: typer.Context,
    manifest: Annotated[str, typer.Argument(help="a manifest with a domain column")],
    out: Annotated[str, typer.Option(
        help="thresholds file to write (default: routing_thresholds.json here; use it with "
        "ACAV_ROUTING_THRESHOLDS_FILE)", show_default=False)] = "routing_thresholds.json",
    folds: Annotated[int, typer.Option(
        help="cross-validation folds, grouped by source (default 5)", show_default=False)] = 5,
    split_column: Annotated[str, typer.Option(
        help="manifest column naming each row's split; when present, thresholds are fitted on --fit rows "
        "and reported on --report rows")] = "split",
    fit: Annotated[str, typer.Option(
        help="split to fit on (default: calibration)", show_default=False)] = "calibration",
    report: Annotated[str, typer.Option(
        help="split to report on (default: heldout)", show_default=False)] = "heldout",
) -> None:
    _prepare_environment(ctx.obj)
    calibrate_routing(manifest, out, folds, split_column, fit, report)


@app.command("push-release", help="upload the release folder to a Hugging Face dataset repo "
             "(token from $HF_TOKEN only)")
def push_release_command(
    ctx: typer.Context,
    repo_id: Annotated[str, typer.Argument(help="dataset repo, e.g. user/acav-captions (created if missing)")],
    private: Annotated[bool, typer.Option("--private", help="create the repo private")] = False,
    release: Annotated[str | None, typer.Option(help=RELEASE_FOLDER_HELP)] = None,
) -> None:
    _prepare_environment(ctx.obj)
    push_release(repo_id, private, release)


@app.command("export", help="Lhotse or NeMo manifests of the release, with its audio as FLAC files")
def export_command(
    ctx: typer.Context,
    kind: Annotated[Literal["lhotse", "nemo"], typer.Argument(help="manifest format: lhotse or nemo")],
    out: Annotated[str, typer.Argument(help="folder to write the manifests and audio/ to")],
    facet: Annotated[str, typer.Option(
        help="caption facet used as the text (default: long)", show_default=False)] = "long",
    release: Annotated[str | None, typer.Option(help=RELEASE_FOLDER_HELP)] = None,
) -> None:
    _prepare_environment(ctx.obj)
    export_release(kind, out, facet, release)


@app.command("demo", help="run the whole graph on the built-in demo corpus")
def demo_command(
    ctx: typer.Context,
    manifest: Annotated[str, typer.Option(hidden=True)] = str(DEMO_MANIFEST),
) -> None:
    data_root = ctx.obj or os.environ.get("ACAV_DATA_ROOT") or "acav_demo"
    # Small shards so that the demo shows several partitions, as a real corpus would.
    os.environ.setdefault("ACAV_SHARD_SIZE", str(DEMO_SHARD_SIZE))
    environment = _prepare_environment(data_root)
    shards = register(manifest, prefix="demo")
    if not materialize(shards):
        raise typer.Exit(1)
    print_stats()
    print(
        f"\nResults: Parquet and audio tars under {environment['ACAV_DATA_ROOT']}, DuckDB at "
        f"{environment['ACAV_DATA_ROOT']}/warehouse.duckdb, run history in {environment['DAGSTER_HOME']}.\n"
        "Open them in the Dagster UI:\n"
        f"  DAGSTER_HOME={environment['DAGSTER_HOME']} ACAV_DATA_ROOT={environment['ACAV_DATA_ROOT']} "
        ".venv/bin/dg dev\n"
        "Stage 5 (training, MECAT-Caption scores, Tables 2 and 3) starts from a run file "
        "(`acav-assets add-run`) or a predictions CSV (`acav-assets add-system`): see the README."
    )


def _click_command() -> click.Group:
    """The click group of ``app``. Typer before 0.26 loses the help of arguments under click 8.5
    (click's Argument now sets ``help`` itself), so it is taken again from the annotations."""
    group = typer.main.get_command(app)
    for info in app.registered_commands:
        hints = typing.get_type_hints(info.callback, include_extras=True)
        for param in group.commands[info.name].params:
            if isinstance(param, click.Argument) and not param.help:
                declared = getattr(hints[param.name], "__metadata__", ())
                param.help = next((m.help for m in declared if isinstance(m, typer.models.ArgumentInfo)), None)
    return group


def _is_user_error(error: Exception) -> bool:
    """A bad manifest, a missing file or a rejected value: reported in one line, not a traceback."""
    from acav_assets.ingest.manifests import ManifestError

    return isinstance(error, (ManifestError, FileNotFoundError, ValueError))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: sys.argv) and return its exit status: 2 for usage errors
    and user errors, 1 when a run fails, 0 otherwise."""
    command = _click_command()
    try:
        status = command.main(args=argv, prog_name="acav-assets", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        print("Aborted!", file=sys.stderr)
        return 1
    except Exception as error:
        if not _is_user_error(error):
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
