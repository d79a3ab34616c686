-- The warehouse's layers, one schema each (created by the platform, owned by the
-- connecting role). Roles and grants for BI readers come with the warehouse models.
create schema if not exists raw;     -- feeds as received, append-only (loader)
create schema if not exists etl;     -- batch log, file ledger, rejects, extraction state
create schema if not exists rules;   -- retention rules as data (dbt seeds)
create schema if not exists staging; -- dbt: latest version of each source record as of D
create schema if not exists intermediate;
create schema if not exists marts;   -- what BI tools read
