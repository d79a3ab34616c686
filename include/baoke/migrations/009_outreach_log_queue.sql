-- The outreach log records who calls by role (issue 16): `queue`, the role of the person
-- a call or overflow row was given to (service_advisor, sales_consultant, followup_agent,
-- renewal_specialist; null for the other dispositions), as int_outreach_decisions has it
-- (baoke.outbound.LOG_COLUMNS). Rows logged before have none (every call then went to a
-- service advisor's list, but the log says what was recorded, not what we infer).
-- Adding a nullable column rewrites no row and is no UPDATE: the append-only triggers of
-- 008 stay as they are; table privileges cover the new column (restated below).
alter table etl.outreach_log add column if not exists queue text;

-- 008's grants, restated: the export appends (no update, no delete), dbt reads
grant select, insert on etl.outreach_log to baoke_loader;
grant select on etl.outreach_log to baoke_transformer;
