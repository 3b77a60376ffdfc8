"""``acav-assets``: register manifests as shards, materialise them, run the demo, print statistics.

Materialisation runs in long-lived worker processes (``defs/run_pool.py``) against the instance
in DAGSTER_HOME, so models load once per worker and every run is visible in the Dagster UI.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

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
        requests = [RunRequest(PER_SHARD_SELECTION, shard, f"shard {shard}") for shard in shards]
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
    rc.write_thresholds_file(out, result.thresholds, {
        "manifest": manifest, "tagger": tagger_name, "profile": settings.profile,
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "n_clips": result.n_fit,
        "folds": folds, "cv_accuracy": result.cv_accuracy, "fit_accuracy": result.fit_accuracy,
        "split": {"column": split_column, "fit": fit, "report": report} if split else None,
        "heldout_accuracy": result.heldout.accuracy, "heldout_clips": result.heldout.n,
        "previous_thresholds": current.__dict__,
    })
    print(f"wrote {out}; the pipeline uses it with ACAV_ROUTING_THRESHOLDS_FILE={Path(out).resolve()}")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acav-assets", description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", help="where assets are written (default: $ACAV_DATA_ROOT or ./acav_data)")
    commands = parser.add_subparsers(dest="command", required=True)
    reg = commands.add_parser("register", help="plan a manifest (CSV, JSONL, Parquet or audio folder) into shards")
    reg.add_argument("manifest")
    reg.add_argument("--prefix", help="shard name prefix (default: the manifest's name)")
    mat = commands.add_parser("materialize", help="materialise registered shards and the statistics")
    mat.add_argument("--shard", action="append", help="only this shard (repeatable)")
    mat.add_argument("--resume", action="store_true",
                     help="only the outputs that are missing or older than their inputs (after an interrupted run)")
    mat.add_argument("--workers", type=int, default=int(os.environ.get("ACAV_CLI_WORKERS", "1")),
                     help="shards materialised at once, each in its own long-lived process that loads the models "
                     "once (default: $ACAV_CLI_WORKERS or 1; each worker's models already use every core)")
    commands.add_parser("stats", help="print the statistics tables from DuckDB")
    corpus = commands.add_parser(
        "caption-stats", help="Table 1 statistics (hours, samples, unique Qwen3 tokens) of published caption files")
    corpus.add_argument("datasets", nargs="+", metavar="NAME=FORMAT:PATH",
                        help="FORMAT: acav (ACAVCaps/MECAT JSON lines, file or folder), audiocaps, clotho, "
                        "wavcaps, audiosetcaps")
    corpus.add_argument("--facets", action="store_true", help="also print the per-facet statistics")
    date = commands.add_parser(
        "date-score", help="MECAT-Caption DATE scores of prediction CSVs (Table 2 row)",
        description="DATE per group and the final score (×100). A group without clips shows n/a and counts as 0 "
        "in the score, as in the official evaluator; the score is then marked with *.")
    date.add_argument("predictions", nargs="+", help="one CSV (key,text) or six: long short speech music sound environment")
    date.add_argument("--references", required=True, help="folder of MECAT caption JSON lines")
    date.add_argument("--model", default="", help="sentence-transformers model folder or hub id "
                      "(default: paraphrase-TinyBERT-L6-v2 from the hub; 'packaged' = the offline all-MiniLM-L6-v2)")
    date.add_argument("--fluency-checker", default="", help="FENSE error-checker checkpoint "
                      "(echecker_clotho_audiocaps_base.ckpt) for the fluency penalty; default: no penalty")
    date.add_argument("--input-mode", choices=("mecat", "verbatim"), default="mecat",
                      help="mecat (default): read the CSVs and pick clips as the official mecat package does, so the "
                      "numbers match it: pandas reads a caption written None, NA, null, nan or empty as 'nan' and "
                      "reference clips without a prediction are skipped. verbatim: captions exactly as written, and "
                      "a clip without a prediction is scored as an empty caption")
    system = commands.add_parser("add-system", help="register a predictions CSV (or six) as a scored system "
                                 "(partition of mecat_caption_scores)")
    system.add_argument("name")
    system.add_argument("predictions", nargs="+", help="one CSV (key,text) or six: long short speech music sound environment")
    system.add_argument("--score", action="store_true", help="also materialise its scores and Table 2 "
                        "(needs ACAV_MECAT_REFERENCES)")
    run = commands.add_parser("add-run", help="register a training run config (partition of caption_model)")
    run.add_argument("name")
    run.add_argument("--config", required=True, help="run file: TrainingConfig fields (JSON), optional "
                     "predictions and downstream sections")
    cal = commands.add_parser("calibrate", help="fit the routing thresholds to a manifest's recorded domains")
    cal.add_argument("manifest", help="a manifest with a domain column")
    cal.add_argument("--out", default="routing_thresholds.json", help="thresholds file to write "
                     "(default: routing_thresholds.json here; use it with ACAV_ROUTING_THRESHOLDS_FILE)")
    cal.add_argument("--folds", type=int, default=5, help="cross-validation folds, grouped by source (default 5)")
    cal.add_argument("--split-column", default="split", help="manifest column naming each row's split; "
                     "when present, thresholds are fitted on --fit rows and reported on --report rows")
    cal.add_argument("--fit", default="calibration", help="split to fit on (default: calibration)")
    cal.add_argument("--report", default="heldout", help="split to report on (default: heldout)")
    push = commands.add_parser("push-release", help="upload the release folder to a Hugging Face dataset repo "
                               "(token from $HF_TOKEN only)")
    push.add_argument("repo_id", help="dataset repo, e.g. user/acav-captions (created if missing)")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument("--release", help="release folder (default: {data_root}/release)")
    exp = commands.add_parser("export", help="Lhotse or NeMo manifests of the release, with its audio as FLAC files")
    exp.add_argument("format", choices=["lhotse", "nemo"])
    exp.add_argument("out", help="folder to write the manifests and audio/ to")
    exp.add_argument("--facet", default="long", help="caption facet used as the text (default: long)")
    exp.add_argument("--release", help="release folder (default: {data_root}/release)")
    demo = commands.add_parser("demo", help="run the whole graph on the built-in demo corpus")
    demo.add_argument("--manifest", default=str(DEMO_MANIFEST), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.command == "demo":
        args.data_root = args.data_root or os.environ.get("ACAV_DATA_ROOT") or "acav_demo"
        # Small shards so that the demo shows several partitions, as a real corpus would.
        os.environ.setdefault("ACAV_SHARD_SIZE", str(DEMO_SHARD_SIZE))
    environment = _prepare_environment(args.data_root)
    from acav_assets.ingest.manifests import ManifestError

    try:
        if args.command == "register":
            register(args.manifest, args.prefix)
        elif args.command == "materialize":
            return 0 if materialize(args.shard, args.resume, args.workers) else 1
        elif args.command == "stats":
            print_stats()
        elif args.command == "caption-stats":
            print_caption_stats(args.datasets, args.facets)
        elif args.command == "date-score":
            print_date_scores(args.references, args.predictions, args.model, args.fluency_checker,
                              args.input_mode)
        elif args.command == "add-system":
            return 0 if add_system(args.name, args.predictions, args.score) else 1
        elif args.command == "add-run":
            add_run(args.name, args.config)
        elif args.command == "calibrate":
            calibrate_routing(args.manifest, args.out, args.folds, args.split_column, args.fit, args.report)
        elif args.command == "push-release":
            push_release(args.repo_id, args.private, args.release)
        elif args.command == "export":
            export_release(args.format, args.out, args.facet, args.release)
        elif args.command == "demo":
            shards = register(args.manifest, prefix="demo")
            if not materialize(shards):
                return 1
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
    except (ManifestError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
