{#- The latest version of each record of a raw table as of D: versions made before
    D 00:00 +08:00 only, the newest per record key (by `newest_first`, then the latest
    batch and line). Rows of superseded files are excluded (etl.files ledger). -#}
{% macro latest_raw_records(relation, key='record_key', newest_first='r.version_at desc') -%}
    select distinct on ({{ key }})
        r.record,
        r.record_key,
        r.version_at,
        r.batch_id,
        r.locator
    from (select * from {{ relation }}) as r
    where r.version_at < {{ business_day_start() }}
      and not exists (
          select 1 from (select * from {{ source('etl', 'files') }}) as f
          where f.batch_id = r.batch_id and f.status <> 'loaded'
      )
    order by {{ key }}, {{ newest_first }}, r.batch_id desc, r.locator desc
{%- endmacro %}
