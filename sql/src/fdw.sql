-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION nextcrm_mongo_fdw" to load this file. \quit

CREATE FUNCTION nextcrm_mongo_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION nextcrm_mongo_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  HANDLER nextcrm_mongo_fdw_handler
  VALIDATOR nextcrm_mongo_fdw_validator;

CREATE FUNCTION nextcrm_mongo_fdw_version()
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION nextcrm_mongo_fdw_version() IS
  'versions of the extension, libmongoc, libbson and the PostgreSQL server';

-- Lists the collections of a live MongoDB server or a dump directory with their
-- document counts.
CREATE FUNCTION nextcrm_mongo_collections(server name,
                                          OUT collection text, OUT documents bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- Reaching the source runs with the caller's user mapping; the function itself
-- is no secret, but keep it to roles that were granted it.
REVOKE ALL ON FUNCTION nextcrm_mongo_collections(name) FROM PUBLIC;

-- ObjectId -> UUID, deterministic and reversible (layout in src/core/oid_uuid.hpp):
-- a UUIDv7 whose time is the ObjectId's creation second.  24 hex digits are an
-- ObjectId; any other text is taken as a string _id (name-based UUID).
CREATE FUNCTION nextcrm_map_oid(text)
RETURNS uuid
AS 'MODULE_PATHNAME'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The inverse for ObjectId-derived UUIDs; an error for any other UUID.
CREATE FUNCTION nextcrm_unmap_oid(uuid)
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
