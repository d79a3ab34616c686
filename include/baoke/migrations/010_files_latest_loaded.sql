-- A file's volume check (is it far smaller than its sender's usual?) reads the sender's
-- last loaded files before it, newest first: once per file, so a first run that reads an
-- insurer's years of history asks it thousands of times over a growing ledger. This index
-- hands them over in that order without sorting the whole ledger each time.
create index if not exists files_loaded_latest on etl.files (feed, file_date desc, file_id desc)
    where status = 'loaded';
