"""GPU and LLM steps carry their Kubernetes placement as op tags in the code location, and the
k8s location runs every step in its own pod (dagster-k8s)."""

import json
import os
import subprocess
import sys

import pytest

from acav_assets.defs.policies import K8S_CONFIG_TAG
from acav_assets.experts.registry import EXPERTS

# Model-bound assets outside the expert registry (training and evaluation on the GPU).
GPU_TRAINING = {"caption_model", "caption_predictions", "downstream_scores"}
K8S_MISSING = "needs dagster-k8s (pip install -e '.[k8s]'): the Kubernetes executor and job builder"


@pytest.fixture(scope="module")
def assets_by_pool():
    from acav_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    pools: dict[str, dict[str, dict]] = {}
    for key in graph.get_all_asset_keys():
        op = graph.get(key).assets_def.op
        pools.setdefault(op.pool or "", {})[key.to_user_string()] = op.tags
    return pools


def test_every_gpu_and_llm_asset_carries_its_k8s_placement(assets_by_pool):
    expected_gpu = {spec.name for spec in EXPERTS if spec.pool == "gpu"} | GPU_TRAINING
    expected_llm = {spec.name for spec in EXPERTS if spec.pool == "llm_api"} | {"captions"}
    assert expected_gpu == set(assets_by_pool["gpu"]) and {"tags", "speech"} <= expected_gpu
    assert expected_llm == set(assets_by_pool["llm_api"])
    for name, tags in assets_by_pool["gpu"].items():
        resources = json.loads(tags[K8S_CONFIG_TAG])["container_config"]["resources"]
        assert resources["limits"]["nvidia.com/gpu"] == "1", name
    for name, tags in assets_by_pool["llm_api"].items():
        config = json.loads(tags[K8S_CONFIG_TAG])
        assert "nvidia.com/gpu" not in json.dumps(config) and config["container_config"]["resources"]["requests"], name
    unpooled = {name for name, tags in assets_by_pool.get("", {}).items() if K8S_CONFIG_TAG in tags}
    assert not unpooled, f"k8s placement on assets outside the pools: {unpooled}"


def test_the_gpu_node_selector_is_read_from_the_environment():
    script = ("import json; from acav_assets.definitions import defs; "
              "print(defs.resolve_assets_def('speech').op.tags['dagster-k8s/config'])")
    env = dict(os.environ, HF_HUB_OFFLINE="1", ACAV_K8S_GPU_NODE_SELECTOR='{"acav/node-pool": "h100"}')
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    config = json.loads(done.stdout.strip().splitlines()[-1])
    assert config["pod_spec_config"]["node_selector"] == {"acav/node-pool": "h100"}


def test_dagster_k8s_puts_the_gpu_request_and_toleration_into_the_step_pod(assets_by_pool):
    k8s_job = pytest.importorskip("dagster_k8s.job", reason=K8S_MISSING)

    user_config = k8s_job.get_user_defined_k8s_config(assets_by_pool["gpu"]["speech"])
    job_config = k8s_job.DagsterK8sJobConfig(job_image="acav-assets:test", dagster_home="/opt/dagster/dagster_home",
                                             instance_config_map="dagster-instance")
    job = k8s_job.construct_dagster_k8s_job(job_config, ["dagster", "api", "execute_step"], "dagster-step-speech",
                                            user_defined_k8s_config=user_config)
    pod = job.spec.template.spec
    assert pod.containers[0].resources.limits["nvidia.com/gpu"] == "1"
    assert [(t.key, t.effect) for t in pod.tolerations] == [("nvidia.com/gpu", "NoSchedule")]
    llm = k8s_job.get_user_defined_k8s_config(assets_by_pool["llm_api"]["captions"])
    assert "nvidia.com/gpu" not in (llm.container_config["resources"].get("limits") or {})


def test_the_k8s_location_runs_every_step_in_its_own_pod():
    pytest.importorskip("dagster_k8s", reason=K8S_MISSING)
    from acav_assets.defs.k8s_location import defs

    job = defs.resolve_implicit_global_asset_job_def()
    assert job.executor_def.name == "k8s"
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"tags", "speech", "captions", "release"} <= keys
