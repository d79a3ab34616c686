{#- A mobile typed at the counter ("+86 138-0013-8000", "0086 13800138000") as the
    11 digits of a Chinese mobile, or null when it is not one (rules.md §3). -#}
{% macro normalize_mobile(expr) -%}
    (regexp_match(regexp_replace(coalesce({{ expr }}, ''), '[^0-9]', '', 'g'), '^(?:0086|86)?(1[0-9]{10})$'))[1]
{%- endmacro %}

{#- 13912345678 -> 139****5678: what BI users see of a phone number. -#}
{% macro mask_mobile(expr) -%}
    (case when {{ expr }} is not null then left({{ expr }}, 3) || '****' || right({{ expr }}, 4) end)
{%- endmacro %}

{#- 张三丰 -> 张** : a name BI users can recognise a record by without reading it. -#}
{% macro mask_name(expr) -%}
    (case when {{ expr }} is not null and {{ expr }} <> '' then left({{ expr }}, 1) || repeat('*', greatest(length({{ expr }}) - 1, 1)) end)
{%- endmacro %}

{#- A date written YYYY-MM-DD or YYYY/MM/DD (insurers use both); '' is null. -#}
{% macro parse_date(expr) -%}
    to_date(nullif(replace({{ expr }}, '/', '-'), ''), 'YYYY-MM-DD')
{%- endmacro %}

{#- A JSON field of a raw record as text, '' as null. -#}
{% macro field(name) -%}
    nullif(record ->> '{{ name }}', '')
{%- endmacro %}
