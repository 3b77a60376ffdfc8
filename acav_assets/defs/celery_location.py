"""The same definitions with every step executed on Celery workers (``dagster_celery``).

``dg launch -m acav_assets.defs.celery_location --assets ... --config-json
'{"execution": {"config": {"broker": "redis://HOST:6379/0", "backend": "redis://HOST:6379/1"}}}'``
with workers started by ``dagster-celery worker start -A dagster_celery.app -y celery.yaml`` (or
``celery -A dagster_celery.app worker``) on hosts that share the instance (DAGSTER_HOME with the
production dagster.yaml) and the data root.
"""

import dagster as dg
from dagster_celery import celery_executor

from acav_assets import definitions

defs = dg.Definitions.merge(definitions.defs, dg.Definitions(executor=celery_executor))
