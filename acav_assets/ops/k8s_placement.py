"""Where model- and LLM-bound steps run on Kubernetes: the ``dagster-k8s/config`` each step carries.

dagster-k8s reads this tag when a step gets its own pod (``k8s_job_executor``); every other
executor ignores it. GPU steps ask for one ``nvidia.com/gpu`` and tolerate the usual GPU taint;
LLM steps only wait on the endpoint, so they ask for a little CPU and memory. Cluster specifics
come from the environment of the code location and its run pods, as JSON:

- ``ACAV_K8S_GPU_NODE_SELECTOR``: e.g. ``{"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"}``
  (default: none, the device plugin's GPU request alone places the pod);
- ``ACAV_K8S_GPU_TOLERATIONS``: a list of tolerations (default: ``nvidia.com/gpu`` NoSchedule;
  ``[]`` for none);
- ``ACAV_K8S_GPU_RESOURCES`` / ``ACAV_K8S_LLM_RESOURCES``: the container's ``resources``
  (requests/limits), replacing the defaults below.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

GPU_RESOURCES = {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"memory": "32Gi", "nvidia.com/gpu": "1"}}
GPU_TOLERATIONS = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
LLM_RESOURCES = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}}


def _json(environ: Mapping[str, str], name: str, default: Any, kind: type) -> Any:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{name} is not JSON ({error}): {text!r}") from None
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a JSON {'object' if kind is dict else 'list'}, got {text!r}")
    return value


def gpu_step_k8s_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One GPU per step pod, with the node selector and tolerations the environment names."""
    environ = os.environ if environ is None else environ
    resources = _json(environ, "ACAV_K8S_GPU_RESOURCES", GPU_RESOURCES, dict)
    if "nvidia.com/gpu" not in resources.get("limits", {}):
        raise ValueError("ACAV_K8S_GPU_RESOURCES must keep a limits.nvidia.com/gpu entry")
    pod_spec: dict[str, Any] = {"tolerations": _json(environ, "ACAV_K8S_GPU_TOLERATIONS", GPU_TOLERATIONS, list)}
    selector = _json(environ, "ACAV_K8S_GPU_NODE_SELECTOR", {}, dict)
    if selector:
        pod_spec["node_selector"] = {str(k): str(v) for k, v in selector.items()}
    return {"container_config": {"resources": resources}, "pod_spec_config": pod_spec}


def llm_step_k8s_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A CPU/memory request for steps that mostly wait on the LLM endpoint."""
    environ = os.environ if environ is None else environ
    return {"container_config": {"resources": _json(environ, "ACAV_K8S_LLM_RESOURCES", LLM_RESOURCES, dict)}}
