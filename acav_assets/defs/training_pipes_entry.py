"""The out-of-process training step: ``{launcher} -m acav_assets.defs.training_pipes_entry RUN_FILE OUT_DIR``.

``caption_model`` starts it through Dagster Pipes when ``ACAV_TRAINING_LAUNCHER`` is set (e.g.
``accelerate launch --num_processes 8``, or ``torchrun -m``). The main process streams the core's
progress into the Dagster run and reports the materialisation; other ranks, and a launch outside
Pipes, just train. The training itself is the functional core's (``acav_assets.training.loop``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from acav_assets.training.config import load_run_file
from acav_assets.training.loop import is_main_process, train

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    """``accelerate launch -m acav_assets.defs.training_pipes_entry RUN_FILE OUT_DIR`` (or ``torchrun -m``).

    Launched by Dagster Pipes (the ``caption_model`` asset with ``ACAV_TRAINING_LAUNCHER`` set),
    the main process streams its progress to the Dagster run and reports the materialisation."""
    import argparse

    from dagster_pipes import PipesEnvVarParamsLoader, open_dagster_pipes

    parser = argparse.ArgumentParser(description="Train the audio caption model from a run file (resumes).")
    parser.add_argument("run_file")
    parser.add_argument("out_dir")
    parser.add_argument("--train-data", default="", help="release WebDataset shards, if the run file names none")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config, _ = load_run_file(args.run_file)
    if args.train_data and not config.train_data:
        config = config.with_changes(train_data=args.train_data)
    if not (PipesEnvVarParamsLoader().is_dagster_pipes_process() and is_main_process()):
        result = train(config, args.out_dir)
        log.info("done: %d steps, checkpoint %s", result.steps, result.checkpoint)
        return
    with open_dagster_pipes() as pipes:
        result = train(config, args.out_dir, progress=pipes.log.info)
        pipes.report_asset_materialization(metadata={
            "checkpoint": {"raw_value": str(result.checkpoint), "type": "path"},
            "steps": result.steps, "resumed_from_step": result.resumed_from, "optimizer": result.optimizer,
            "trainable_parameters": result.trainable_parameters,
            "launched": "out of process (Dagster Pipes)",
        })


if __name__ == "__main__":
    main()
