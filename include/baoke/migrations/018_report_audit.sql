-- The monthly report's files are sent like the call lists (docs/outputs.md §3, §5): the
-- export audit records each one. A report is no list export, so its rows have no
-- etl.outreach_exports row to name, and its files are HTML.
alter table etl.export_audit alter column export_id drop not null;
alter table etl.export_audit drop constraint if exists export_audit_file_format_check;
alter table etl.export_audit add constraint export_audit_file_format_check
    check (file_format in ('csv', 'xlsx', 'json', 'html'));
comment on column etl.export_audit.export_id is
    'the etl.outreach_exports row of the list export whose files these are; null for a monthly report';
