{#- The column is unique because PostgreSQL enforces it: the model has a valid unique
    index on exactly that column (declared in its `indexes` config).

    For the multi-million-row relations, where dbt's `unique` test would re-read and
    sort the whole table after every build (27 s for `int_maintenance_due` on `large`):
    with the index, a duplicate key fails the build itself, with PostgreSQL's message
    naming the key ("could not create unique index ... Key (ro_number)=(...) is
    duplicated"), and this test only checks, in the catalog, that the index is there. -#}
{% test unique_index(model, column_name) %}
{%- if model is string -%}
    {{ exceptions.raise_compiler_error("unique_index tests a whole table: remove its `where` (" ~ model ~ ")") }}
{%- endif %}
select '{{ model.schema }}.{{ model.identifier }}' as relation, '{{ column_name }}' as column_without_unique_index
where not exists (
    select 1
    from pg_index as ix
    join pg_class as tbl on tbl.oid = ix.indrelid
    join pg_namespace as ns on ns.oid = tbl.relnamespace
    join pg_attribute as col on col.attrelid = tbl.oid and col.attnum = ix.indkey[0]
    where ns.nspname = '{{ model.schema }}'
      and tbl.relname = '{{ model.identifier }}'
      and ix.indisunique and ix.indisvalid
      and ix.indnkeyatts = 1 and ix.indpred is null and ix.indexprs is null
      and col.attname = '{{ column_name }}'
)
{% endtest %}
