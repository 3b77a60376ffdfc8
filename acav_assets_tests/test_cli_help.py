"""`acav-assets --version`, `--help` on the CLI and every subcommand, and usage errors."""

import re
from importlib.metadata import version

import pytest

from acav_assets import cli

OPTIONS = {
    "register": ["--prefix"],
    "materialize": ["--shard", "--resume", "--workers"],
    "stats": [],
    "caption-stats": ["--facets"],
    "date-score": ["--references", "--model", "--fluency-checker", "--input-mode"],
    "add-system": ["--score"],
    "add-run": ["--config"],
    "calibrate": ["--out", "--folds", "--split-column", "--fit", "--report"],
    "push-release": ["--private", "--release"],
    "export": ["--facet", "--release"],
    "demo": [],
}
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def run(capsys, *argv: str) -> tuple[int, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, ANSI_ESCAPE.sub("", captured.out + captured.err)


def test_version_prints_the_installed_version(capsys):
    status, output = run(capsys, "--version")
    assert status == 0
    assert version("acav-assets") in output


def test_help_lists_every_subcommand_and_the_global_options(capsys):
    status, output = run(capsys, "--help")
    assert status == 0
    for name in [*OPTIONS, "--data-root", "--version"]:
        assert name in output


@pytest.mark.parametrize("command", OPTIONS)
def test_subcommand_help_mentions_each_of_its_options(command, capsys):
    status, output = run(capsys, command, "--help")
    assert status == 0
    for option in OPTIONS[command]:
        assert option in output


def test_demo_help_hides_its_manifest_option(capsys):
    _, output = run(capsys, "demo", "--help")
    assert "--manifest" not in output


def test_usage_errors_return_2(capsys):
    status, output = run(capsys, "register", "manifest.csv", "--no-such-option")
    assert status == 2 and "--no-such-option" in output
    assert run(capsys, "export", "parquet", "out")[0] == 2
    assert run(capsys)[0] == 2  # no subcommand
