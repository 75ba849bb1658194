-- Least privilege (issue 11): who may name server files and which URI
-- options a role that is not a superuser may use.
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE ROLE regress_nextcrm_plain;
CREATE ROLE regress_nextcrm_reader;
GRANT pg_read_server_files TO regress_nextcrm_reader;
GRANT USAGE ON FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  TO regress_nextcrm_plain, regress_nextcrm_reader;

-- dump_dir: superusers and members of pg_read_server_files only, at CREATE
-- and at ALTER.
SET ROLE regress_nextcrm_plain;
CREATE SERVER plain_dump FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '/');
CREATE SERVER plain_live FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1:1/', database 'nextcrm');
ALTER SERVER plain_live OPTIONS (DROP uri, DROP database, ADD dump_dir '/tmp');
RESET ROLE;
SET ROLE regress_nextcrm_reader;
CREATE SERVER reader_dump FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '/tmp');
ALTER SERVER reader_dump OPTIONS (SET dump_dir '/var/tmp');
RESET ROLE;
CREATE SERVER super_dump FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '/tmp');
ALTER SERVER super_dump OWNER TO regress_nextcrm_plain;
-- The owner cannot change a server whose options name a server path.
SET ROLE regress_nextcrm_plain;
ALTER SERVER super_dump OPTIONS (ADD batch_size '10');
RESET ROLE;

-- A collection name never leaves its directory.
GRANT USAGE ON FOREIGN SERVER super_dump TO regress_nextcrm_plain;
GRANT CREATE ON SCHEMA public TO regress_nextcrm_plain;
SET ROLE regress_nextcrm_plain;
CREATE FOREIGN TABLE escape1 (_id text) SERVER super_dump OPTIONS (collection '../x');
CREATE FOREIGN TABLE escape2 (_id text) SERVER super_dump OPTIONS (collection '/etc/passwd');
CREATE FOREIGN TABLE escape3 (_id text) SERVER super_dump OPTIONS (collection 'a\b');
CREATE FOREIGN TABLE "../escape4" (_id text) SERVER super_dump;
SELECT * FROM "../escape4";
RESET ROLE;

-- Connection options of a role that is not a superuser (postgres_fdw's rule).
SET ROLE regress_nextcrm_plain;
CREATE SERVER tls_ca FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://db.example/?tls=true&tlsCAFile=/etc/ssl/private/ca.pem', database 'x');
CREATE SERVER tls_key FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://db.example/?tlsCertificateKeyFile=/var/lib/postgresql/k.pem', database 'x');
CREATE SERVER insecure FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://db.example/?tls=true&tlsAllowInvalidCertificates=true', database 'x');
CREATE SERVER x509 FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://db.example/?authMechanism=MONGODB-X509', database 'x');
CREATE SERVER sock FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://%2Ftmp%2Fmongodb-27017.sock/', database 'x');
CREATE SERVER no_timeout FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://db.example/?socketTimeoutMS=0', database 'x');
CREATE SERVER long_timeout FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://db.example/', database 'x', socket_timeout_ms '86400000');
CREATE SERVER fine FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://db1.example,db2.example/?replicaSet=rs&tls=true&authSource=admin',
           database 'x', socket_timeout_ms '3600000');
ALTER SERVER fine OPTIONS (SET uri 'mongodb://db.example/?tlsInsecure=true');
RESET ROLE;
-- A superuser may use them all.
CREATE SERVER super_tls FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://db.example/?tls=true&tlsCAFile=/etc/ssl/ca.pem', database 'x',
           socket_timeout_ms '86400000');
-- But not a secret in the URI: a server's options are readable by every role.
CREATE SERVER super_secret FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://db.example/?tls=true&tlsCertificateKeyFile=/k.pem&tlsCertificateKeyFilePassword=SEKRET',
           database 'x');

DROP SERVER super_tls, fine, reader_dump;
DROP SERVER super_dump CASCADE;
REVOKE CREATE ON SCHEMA public FROM regress_nextcrm_plain;
DROP EXTENSION nextcrm_mongo_fdw CASCADE;
DROP ROLE regress_nextcrm_plain, regress_nextcrm_reader;
