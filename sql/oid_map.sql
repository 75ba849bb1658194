-- ObjectId <-> UUID mapping from SQL.
CREATE EXTENSION nextcrm_mongo_fdw;

SELECT nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4e5f6');
SELECT nextcrm_map_oid('65A1F0C2E4B0A1B2C3D4E5F6') = nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4e5f6')
       AS case_insensitive;
SELECT nextcrm_unmap_oid(nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4e5f6'));

-- The UUIDv7 time is the ObjectId's creation second.
SELECT to_timestamp(('x' || lpad(replace(nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4e5f6')::text, '-', ''), 32, '0'))::bit(48)::bigint / 1000.0)
       AT TIME ZONE 'UTC' AS uuid_time,
       to_timestamp(('x' || '65a1f0c2')::bit(32)::bigint) AT TIME ZONE 'UTC' AS objectid_time;

-- Sorting by UUID is sorting by ObjectId.
WITH ids(oid) AS (VALUES ('65a1f0c2e4b0a1b2c3d4e5f6'), ('65a1f0c2e4b0a1b2c3d4e5f7'),
                         ('65a1f0c3000000000000000a'), ('5f0000000000000000000000'),
                         ('65a1f0c2ffffffffffffffff'))
SELECT array_agg(oid ORDER BY oid) = array_agg(oid ORDER BY nextcrm_map_oid(oid)) AS same_order
  FROM ids;

-- String _ids map to stable name-based UUIDs (version 3) that have no inverse.
SELECT nextcrm_map_oid('legacy-user-7') = nextcrm_map_oid('legacy-user-7') AS stable,
       substr(nextcrm_map_oid('legacy-user-7')::text, 15, 1) AS version;
SELECT nextcrm_unmap_oid(nextcrm_map_oid('legacy-user-7'));
SELECT nextcrm_unmap_oid('3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8');

DROP EXTENSION nextcrm_mongo_fdw;
