{#- The latest version of each record of a raw table as of D: versions made before
    D 00:00 +08:00 only, the newest per record key: the latest `version_at`, then the
    latest batch and line, and, with `precedence` (a date field of the record, and the
    staging column holding it), first the latest such date (a record without one loses).
    Rows of superseded files are excluded (etl.files ledger).

    In a staging model materialized `incremental` (with the staging hooks of
    dbt_project.yml: `staging_truncate_if_full`, `record_staging_build`), a daily build
    reads only the versions new since the model's last build (made since the last D, or
    in a batch it has not merged yet) and keeps, per record, the newest of them if it is
    newer than the version the staging row already holds (its `source_*` columns, see
    `source_version_columns`). The record's older versions are not read again: on
    `large`, a record has several, scattered over a 10 GB table. -#}
{% macro latest_raw_records(relation, precedence=none) -%}
    {%- set increment = staging_increment(relation) -%}
    {%- set incremental = increment.mode == 'incremental' -%}
    {%- set rank = (['precedence'] if precedence else []) + ['version_at', 'batch_id', 'locator'] -%}
    select newest.record, newest.record_key, newest.version_at, newest.batch_id, newest.locator
    from (
        select distinct on (versions.record_key) versions.*
        from (
            select r.record, r.record_key, r.version_at, r.batch_id, r.locator
                {%- if precedence %}, coalesce({{ precedence[0] }}, '-infinity') as precedence{% endif %}
            from (select * from {{ relation }}) as r
            where r.version_at < {{ business_day_start() }}
              and not exists (
                  select 1 from (select * from {{ source('etl', 'files') }}) as f
                  where f.batch_id = r.batch_id and f.status <> 'loaded'
              )
              {%- if not incremental %}
              and {{ known_by_d(relation, 'r.batch_id') }}
              {%- endif %}
              {%- if incremental %}
              and (r.version_at >= {{ increment.since }}
                   {%- if increment.batches %} or r.batch_id in ({{ increment.batches | join(', ') }}){% endif %})
              {%- endif %}
        ) as versions
        order by versions.record_key{% for column in rank %}, versions.{{ column }} desc{% endfor %}
    ) as newest
    {%- if incremental %}
    where not exists (
        select 1 from {{ this }} as held
        where held.{{ config.get('unique_key') }} = newest.record_key
          and ({% if precedence %}coalesce(held.{{ precedence[1] }}, '-infinity'), {% endif -%}
               held.source_version_at, held.source_batch_id, held.source_locator)
              >= (newest.{{ rank | join(', newest.') }})
    )
    {%- endif %}
{%- endmacro %}


{#- Whether a raw row was known to the run for D: its batch was loaded by the run for D
    or an earlier one (`etl.load_batches.business_date`). A record written late - dated
    before D, but visible in the source only after D's run - is loaded by a later run:
    the run for D could not see it, so a rebuild of D leaves it out too, and reproduces
    D's lists. For a D before the table's first load (a backfill of days the platform
    never ran), every version dated before D counts. -#}
{% macro known_by_d(relation, batch_id) -%}
    {%- set loaded_by_d -%}
        select known.batch_id from {{ source('etl', 'load_batches') }} as known
        where known.raw_table = '{{ relation.schema }}.{{ relation.identifier }}'
          and known.business_date <= {{ business_date() }}
    {%- endset -%}
    ({{ batch_id }} in ({{ loaded_by_d }}) or not exists ({{ loaded_by_d }}))
{%- endmacro %}


{#- The raw version a staging row was taken from, and the D of the build that wrote it
    (the last columns of every incremental staging model): the next build compares new
    versions with it, and the model's data tests check the rows its build wrote
    (`build_date_column`, macros/tests/as_of_d.sql). -#}
{% macro source_version_columns() -%}
    version_at as source_version_at,
    batch_id as source_batch_id,
    locator as source_locator,
    {{ business_date() }} as merged_for_date
{%- endmacro %}


{#- How a staging model over `relation` is built for D:
      - 'full': from all of raw: the first build, `--full-refresh`, a backfill (D before
        the D it was last built for), or a file it merged has since been superseded
        (its rows must go, and maybe whole records with them);
      - 'incremental': otherwise, merging the records touched since the last build:
        versions made since `since` (the last build's D 00:00 +08:00), and the records of
        `batches` (loaded since, whatever their versions' dates). A model downstream
        of staging takes the records staging merged from `merged_since` on (their
        `merged_for_date`): those of the builds after its last one or, rebuilding the
        same D, of this build.
    A model downstream that follows the same records (`merged_by`: the staging model it
    reads them from, e.g. int_visits) takes only the batches that staging model merged. -#}
{% macro staging_increment(relation, merged_by=none) -%}
    {%- if not execute or not is_incremental() or flags.FULL_REFRESH -%}
        {{ return({'mode': 'full'}) }}
    {%- endif -%}
    {%- set state = run_query(
        "select business_date::text,"
        ~ " (select count(*) from etl.staging_batches as seen"
        ~ "  where seen.model = '" ~ this.identifier ~ "' and seen.included <> " ~ batch_is_loaded('seen.batch_id') ~ ")"
        ~ " from etl.staging_builds where model = '" ~ this.identifier ~ "'") -%}
    {%- if state.rows | length == 0 -%}
        {{ return({'mode': 'full'}) }}
    {%- endif -%}
    {%- set last_date, files_changed = state.rows[0][0], state.rows[0][1] -%}
    {%- if var('business_date') < last_date or files_changed > 0 -%}
        {{ return({'mode': 'full'}) }}
    {%- endif -%}
    {#- the new batches' ids, as literals: the planner then knows they are few and looks
        their records up by index (a subquery made it expect millions and scan all of raw) -#}
    {%- set batches = run_query(unmerged_batches(relation, merged_by)).columns[0].values() | map('int') | list -%}
    {{ return({'mode': 'incremental', 'batches': batches, 'last_date': "cast('" ~ last_date ~ "' as date)",
               'since': "(cast('" ~ last_date ~ "' as timestamp) at time zone 'Asia/Shanghai')",
               'merged_since': "least(cast('" ~ last_date ~ "' as date) + 1, " ~ business_date() ~ ")"}) }}
{%- endmacro %}


{#- Whether a batch's rows count: not from a file superseded, incomplete or rejected. -#}
{% macro batch_is_loaded(batch_id) -%}
    coalesce((select bool_and(f.status = 'loaded') from etl.files as f where f.batch_id = {{ batch_id }}), true)
{%- endmacro %}


{#- The batches loaded into `relation` that this model has not merged yet (id first);
    with `merged_by`, only those that staging model has merged. -#}
{% macro unmerged_batches(relation, merged_by=none) -%}
    select batches.batch_id, batches.finished_at from {{ source('etl', 'load_batches') }} as batches
    where batches.raw_table = '{{ relation.schema }}.{{ relation.identifier }}'
      {%- if merged_by %}
      and exists (
          select 1 from {{ source('etl', 'staging_batches') }} as merged
          where merged.model = '{{ merged_by }}' and merged.batch_id = batches.batch_id
      )
      {%- endif %}
      and not exists (
          select 1 from {{ source('etl', 'staging_batches') }} as seen
          where seen.model = '{{ this.identifier }}' and seen.batch_id = batches.batch_id
      )
{%- endmacro %}


{#- The raw table a staging model reads (its one source in `raw`). -#}
{% macro staging_raw_relation() -%}
    {%- for source_name, table_name in model.sources if source_name == 'raw' -%}
        {{ return(source(source_name, table_name)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(this.identifier ~ " reads no raw table") }}
{%- endmacro %}


{#- Pre-hook of an incremental staging model: a full build empties the table first
    (inside the model's transaction: readers never see it empty). -#}
{% macro staging_truncate_if_full() -%}
    {%- if execute and is_incremental() and staging_increment(staging_raw_relation()).mode == 'full' -%}
        truncate {{ this }}
    {%- endif -%}
{%- endmacro %}


{#- Post-hook of an incremental staging model: record D and the batches merged. A batch
    counts as merged only if it was committed a minute before this transaction began, so
    none committing while the model ran is missed (one merged twice is harmless: the
    merge is idempotent). A model following a staging model (`merged_by`) passes the raw
    `relation` it follows. -#}
{% macro record_staging_build(relation=none, merged_by=none) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set relation = relation or staging_raw_relation() -%}
    {%- set full = staging_increment(relation, merged_by).mode == 'full' -%}
    insert into etl.staging_builds (model, business_date, full_rebuild)
    values ('{{ this.identifier }}', {{ business_date() }}, {{ full }})
    on conflict (model) do update
        set business_date = excluded.business_date, full_rebuild = excluded.full_rebuild,
            built_at = clock_timestamp();
    {% if full -%}
    delete from etl.staging_batches where model = '{{ this.identifier }}';
    {%- endif %}
    insert into etl.staging_batches (model, batch_id, included)
    select '{{ this.identifier }}', unmerged.batch_id, {{ batch_is_loaded('unmerged.batch_id') }}
    from ({{ unmerged_batches(relation, merged_by) }}) as unmerged
    where unmerged.finished_at < now() - interval '1 minute'
{%- endmacro %}


{#- Every version of a raw table the run for D may read (for the staging models that keep
    every version, not the latest): made before D 00:00 +08:00, loaded by the run for D or
    an earlier one, and not of a file a corrected re-delivery superseded. -#}
{% macro raw_versions_as_of_d(relation) -%}
    select r.*
    from (select * from {{ relation }}) as r
    where
        r.version_at < {{ business_day_start() }}
        and {{ known_by_d(relation, 'r.batch_id') }}
        and not exists (
            select 1 from (select * from {{ source('etl', 'files') }}) as f
            where f.batch_id = r.batch_id and f.status <> 'loaded'
        )
{%- endmacro %}
