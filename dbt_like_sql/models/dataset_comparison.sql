-- materialized: table
-- Table 1 side by side: this dataset and the configured reference datasets (see README).
SELECT * FROM {{ source('dataset_comparison') }} ORDER BY dataset
