"""The same definitions with every step in its own Kubernetes pod (``dagster_k8s.k8s_job_executor``).

Needs ``dagster-k8s`` (``pip install -e '.[k8s]'``; the image installs it). Runs come from the
K8sRunLauncher of Dagster's Helm chart (deploy/helm/values.yaml); each step pod then gets the
op tags of its asset: one GPU for the ``gpu`` pool, a CPU/memory request for ``llm_api``
(defs/policies.py). Serve it as a second code location, e.g.
``dagster api grpc -m acav_assets.defs.k8s_location -p 4000``, or pick it per run with
``dg launch -m acav_assets.defs.k8s_location --assets ... --partition SHARD``. The executor's
config (``max_concurrent``, ``job_namespace``, ``step_k8s_config``) can be given per run under
``execution: {config: ...}``. See docs/deploy.md.
"""

import dagster as dg
from dagster_k8s import k8s_job_executor

from acav_assets import definitions

defs = dg.Definitions.merge(definitions.defs, dg.Definitions(executor=k8s_job_executor))
