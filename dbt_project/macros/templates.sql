{#- A template with named placeholders in braces (`{dealer}`, `{due_date}`...), filled in
    SQL: one `replace` per placeholder of `values` (name -> SQL expression of type text).
    Each value must be non-null (a null would blank the whole text): give each a fallback
    word. A placeholder not in `values` stays in the text as it is, braces and all, so the
    export's `no_unfilled_placeholder` test fails the build instead of a caller reading
    "{recall_name}" to a customer. A new placeholder (a recall's or a recommendation's name
    when those reasons come) is one more entry of `values`. -#}
{% macro fill_template(template, values) -%}
{%- set ns = namespace(sql=template) -%}
{%- for name, expr in values.items() -%}
    {%- set ns.sql = "replace(" ~ ns.sql ~ ", '{" ~ name ~ "}', " ~ expr ~ ")" -%}
{%- endfor -%}
{{ ns.sql }}
{%- endmacro %}

{#- A date as a caller says it: 11月23日. -#}
{% macro spoken_date(date_expr) -%}
to_char({{ date_expr }}, 'FMMM"月"FMDD"日"')
{%- endmacro %}
