-- materialized: table
-- Clips and hours per routed domain, and how often routing agrees with the recorded domain.
SELECT r.domain,
       count(*) AS clips,
       coalesce(sum(c.duration_s), 0) / 3600.0 AS hours,
       count(*) FILTER (WHERE r.recorded_domain IS NOT NULL) AS clips_with_recorded_domain,
       count(*) FILTER (WHERE r.recorded_domain = r.domain) AS agreeing_with_recorded
FROM {{ ref('routing') }} AS r
JOIN {{ ref('clips') }} AS c USING (key)
WHERE r.status = 'ok'
GROUP BY r.domain
ORDER BY r.domain
