"""The Kubernetes placement of GPU and LLM steps, from the environment (ops/k8s_placement.py)."""

import json

import pytest

from acav_assets.ops.k8s_placement import (
    GPU_TOLERATIONS,
    gpu_step_k8s_config,
    llm_step_k8s_config,
)


def test_defaults_ask_for_one_gpu_and_no_node_selector():
    config = gpu_step_k8s_config({})
    assert config["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert config["pod_spec_config"] == {"tolerations": GPU_TOLERATIONS}
    llm = llm_step_k8s_config({})["container_config"]["resources"]
    assert "nvidia.com/gpu" not in json.dumps(llm) and llm["requests"]["cpu"]


def test_node_selector_tolerations_and_resources_come_from_the_environment():
    environ = {
        "ACAV_K8S_GPU_NODE_SELECTOR": '{"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"}',
        "ACAV_K8S_GPU_TOLERATIONS": "[]",
        "ACAV_K8S_GPU_RESOURCES": '{"limits": {"nvidia.com/gpu": "2"}}',
        "ACAV_K8S_LLM_RESOURCES": '{"requests": {"cpu": "250m"}}',
    }
    config = gpu_step_k8s_config(environ)
    assert config["pod_spec_config"] == {"node_selector": {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"},
                                         "tolerations": []}
    assert config["container_config"]["resources"] == {"limits": {"nvidia.com/gpu": "2"}}
    assert llm_step_k8s_config(environ)["container_config"]["resources"] == {"requests": {"cpu": "250m"}}


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ACAV_K8S_GPU_NODE_SELECTOR", "pool=gpu", "not JSON"),
    ("ACAV_K8S_GPU_NODE_SELECTOR", '["gpu"]', "JSON object"),
    ("ACAV_K8S_GPU_TOLERATIONS", '{"key": "gpu"}', "JSON list"),
    ("ACAV_K8S_GPU_RESOURCES", '{"limits": {"cpu": "4"}}', "nvidia.com/gpu"),
])
def test_a_malformed_setting_names_its_variable(name, value, message):
    with pytest.raises((ValueError, TypeError), match=message) as error:
        gpu_step_k8s_config({name: value})
    assert name in str(error.value)
