{#- Models land in the schema their layer names (`staging`, `marts`, ...), not in
    `<target schema>_<custom schema>`: BI tools and grants rely on fixed schema names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
