"""The thin Dagster shell: assets, checks, resources, sensors and jobs over the functional core."""
