"""The layout rules, enforced: a functional core that never imports Dagster, a shell that only
wires, experts built from their specs, and a repository that refers to nothing outside itself."""

import ast
import re
import subprocess
from pathlib import Path

import pytest

from acav_assets_tests.reference_data import REPO_ROOT

PACKAGE = REPO_ROOT / "acav_assets"
SHELL = {PACKAGE / "definitions.py", PACKAGE / "cli.py"} | set((PACKAGE / "defs").rglob("*.py"))
CORE = sorted(set(PACKAGE.rglob("*.py")) - SHELL)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_never_imports_dagster(path):
    dagster = sorted(m for m in imported_modules(path) if m.split(".")[0].startswith("dagster"))
    assert not dagster, f"{path.relative_to(REPO_ROOT)} imports {dagster}: the core must not depend on Dagster"
    shell = sorted(m for m in imported_modules(path) if m.startswith(("acav_assets.defs", "acav_assets.definitions")))
    assert not shell, f"{path.relative_to(REPO_ROOT)} imports the shell ({shell})"


SQL = re.compile(r"\b(SELECT|INSERT|CREATE)\b\s")


@pytest.mark.parametrize("path", sorted(SHELL), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_shell_only_wires(path):
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    strings = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    assert not [s for s in strings if SQL.search(s)], f"{path.name} holds SQL: it belongs in stats/"
    assert "great_expectations" not in text and "gx.expectations" not in text, f"{path.name} builds a GX suite"
    if path.name != "resources.py" and path.parent.name == "defs":
        assert "os.environ" not in text and "getenv" not in text, f"{path.name} reads the environment"
    loops = [node for node in ast.walk(tree) if isinstance(node, (ast.For, ast.comprehension))
             and "to_pylist" in ast.unparse(node.iter)]
    assert not loops, f"{path.name} loops over table rows: per-clip logic belongs in the core"


def test_every_expert_spec_has_an_asset_and_a_blocking_check():
    from acav_assets.definitions import defs
    from acav_assets.experts.registry import EXPERTS

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    checks = {k.name: graph.get_check_spec(k) for k in graph.asset_check_keys}
    for spec in EXPERTS:
        assert spec.name in keys
        assert checks[f"{spec.name}_quality"].blocking
    assert len({spec.name for spec in EXPERTS}) == len(EXPERTS)


TEXT_FILES = {".py", ".md", ".toml", ".txt", ".yaml", ".yml", ".sh", ".cfg", ".sql", ".json", ".csv", ""}
OUTSIDE = [".." + "/shared", "/work" + "/", "/root" + "/", "shared" + "/facts", "shared" + "/reference"]


def repository_files() -> list[Path]:
    """The files git tracks or would track (ignored ones left out); every file when git is absent."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                                capture_output=True, text=True, check=True).stdout.splitlines()
        return [REPO_ROOT / name for name in listed]
    except (OSError, subprocess.CalledProcessError):
        ignored = {".git", ".venv", "__pycache__", "acav_demo", "acav_data", ".ruff_cache", ".pytest_cache"}
        return [p for p in REPO_ROOT.rglob("*") if not set(p.relative_to(REPO_ROOT).parts) & ignored]


def test_nothing_refers_outside_the_repository():
    offenders = []
    for path in repository_files():
        if not path.is_file() or path.suffix not in TEXT_FILES or path.stat().st_size > 5_000_000:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        offenders += [f"{path.relative_to(REPO_ROOT)}: {needle}" for needle in OUTSIDE if needle in text]
    assert not offenders, offenders
