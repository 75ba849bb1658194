-- Progress as another session sees it while the migration runs.
CREATE VIEW nextcrm_migration.progress AS
SELECT c.collection,
       c.phase,
       c.source_total,
       c.processed,
       round(100.0 * c.processed / nullif(c.source_total, 0), 1) AS percent,
       c.migrated,
       c.failed,
       c.repaired,
       round(c.seconds::numeric, 3) AS seconds,
       round((c.processed / nullif(c.seconds, 0))::numeric, 0) AS docs_per_second,
       CASE WHEN c.phase = 'running' AND c.processed > 0
            THEN make_interval(secs => (c.source_total - c.processed) * c.seconds / c.processed)
       END AS eta
  FROM nextcrm_migration.checkpoint c
 ORDER BY c.position;
REVOKE ALL ON nextcrm_migration.progress FROM PUBLIC;
