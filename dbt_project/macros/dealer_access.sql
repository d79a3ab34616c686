{#- Per-dealer access to the marts (docs/outputs.md §2, "Per-dealer access").

    A dealer's BI login (a member of bi_dealer, not of bi_reader) sees, in each mart, only
    the rows of the dealers etl.bi_dealer_access maps to its roles, and nothing of a mart
    without a dealer_code. Every other role sees every row. The functions called here are
    the platform's (migrations/012_dealer_access.sql). dbt drops and creates the marts'
    tables at each build, so the policies are applied again after every build of a mart:
    a post-hook of the marts folder (dbt_project.yml). -#}

{#- The rows of a mart's view that the querying role may see: every row for a role that
    sees every dealer; for a dealer login, the rows of its dealers (`dealer_column`), or
    none when the view has no dealer column (`none`). A view over staging or intermediate
    tables runs with its owner's rights, so it applies the policy itself, in its `where`.
    The first test is a sub-select: PostgreSQL evaluates it once per query, not per row. -#}
{% macro bi_visible_rows(dealer_column=none) -%}
    ((select access.sees_every_dealer())
    {%- if dealer_column %} or {{ dealer_column }} in (select access.dealer_codes(current_user)){% endif %})
{%- endmacro %}

{#- The post-hook of every mart. A table gets row-level security: a policy that lets every
    role that sees every dealer read and write every row, and, if it has a dealer_code, one
    that lets a dealer login read its dealers' rows; without that second policy a dealer
    login reads nothing of it. Reference data that holds no dealer's or customer's rows
    (the KPIs' names and targets, the outreach reasons: `meta: {dealer_access: reference}`)
    is read whole by every login. A view cannot carry policies: the build fails unless it
    reads through `security_invoker` (the policies of the marts it reads apply to the
    reader) or filters with bi_visible_rows(); it is made a security barrier, so no
    function of a reader's query sees the rows the filter hides. -#}
{% macro apply_dealer_access() -%}
    {%- if execute -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- if config.get('materialized') == 'view' -%}
            {%- set found = run_query(
                "select coalesce('security_invoker=true' = any(c.reloptions), false)"
                ~ " or position('access.sees_every_dealer' in pg_get_viewdef(c.oid)) > 0"
                ~ " from pg_class as c where c.oid = '" ~ this ~ "'::regclass"
            ) -%}
            {%- if not found.columns[0].values()[0] -%}
                {{ exceptions.raise_compiler_error(
                    "mart view " ~ this ~ " would show a dealer's BI login every dealer: read it through"
                    ~ " security_invoker or filter it with {{ bi_visible_rows('dealer_code') }}"
                ) }}
            {%- endif -%}
            alter view {{ this }} set (security_barrier = true)
        {%- else -%}
            alter table {{ this }} enable row level security;
            drop policy if exists bi_every_dealer on {{ this }};
            create policy bi_every_dealer on {{ this }} as permissive for all to public
                using ((select access.sees_every_dealer()))
                with check ((select access.sees_every_dealer()));
            drop policy if exists bi_dealer_rows on {{ this }};
            {%- if 'dealer_code' in columns %}
            create policy bi_dealer_rows on {{ this }} as permissive for select to bi_dealer
                using (dealer_code in (select access.dealer_codes(current_user)))
            {%- elif config.get('meta', {}).get('dealer_access') == 'reference' %}
            create policy bi_dealer_rows on {{ this }} as permissive for select to bi_dealer
                using (true)
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
