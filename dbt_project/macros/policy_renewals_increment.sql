{#- int_policy_renewals is incremental: a policy's renewal can change only when a policy of
    its VIN changes, or when its renewal window closes. A daily build recomputes the
    policies of those VINs, instead of joining 6M policies with themselves.

    Those VINs are
      - the VINs of the policies stg_insurer__policies merged since the last build (by its
        `merged_for_date` index), and the VIN a changed policy had before (a corrected
        VIN: its old VIN's policies lose a candidate renewal);
      - the VINs of the policies whose window closed since (`is_window_closed` turns
        true on the day after `renewal_window_closes_on`).
    It rebuilds from all policies when `staging_increment` says so (the first build, a
    backfill, a superseded insurer file), when the group's dealers changed (a renewal
    is through the group when a group dealer sold it), or when it would apply another
    renewal window (`renewal_days_before_end`, `renewal_days_after_end`). -#}
{% macro policy_renewals_increment() -%}
    {%- set increment = staging_increment(source('raw', 'insurer_policies'), merged_by='stg_insurer__policies') -%}
    {%- if increment.mode == 'incremental' and not built_with_the_same_rules(renewal_rules_fingerprint()) -%}
        {{ return({'mode': 'full'}) }}
    {%- endif -%}
    {%- if increment.mode == 'incremental' -%}
        {%- set dealers_changed = run_query(
            "select exists (select 1 from " ~ ref('stg_dms__dealers')
            ~ " where merged_for_date >= " ~ increment.merged_since ~ ")") -%}
        {%- if dealers_changed.columns[0].values()[0] -%}
            {{ return({'mode': 'full'}) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(increment) }}
{%- endmacro %}


{#- Pre-hook of int_policy_renewals (inside its transaction): empty it for a full build, or
    collect the VINs to recompute and delete their policies' rows. -#}
{% macro prepare_policy_renewals_increment() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set increment = policy_renewals_increment() -%}
    {%- if increment.mode == 'full' -%}
    truncate {{ this }}
    {%- else -%}
    create temporary table int_policy_renewals__touched on commit drop as
    with merged as (
        select policies.policy_no, policies.vin
        from {{ ref('stg_insurer__policies') }} as policies
        where policies.merged_for_date >= {{ increment.merged_since }}
    )
    select merged.vin from merged where merged.vin is not null
    union
    select held.vin from {{ this }} as held where held.policy_no in (select merged.policy_no from merged)
    union
    select held.vin from {{ this }} as held
    where held.renewal_window_closes_on >= {{ increment.last_date }}
      and held.renewal_window_closes_on < {{ business_date() }};

    delete from {{ this }} where vin in (select int_policy_renewals__touched.vin from int_policy_renewals__touched)
    {%- endif -%}
{%- endmacro %}


{#- The renewal window a build applies (for `record_rules`). -#}
{% macro renewal_rules_fingerprint() -%}
    select 'renewal window {{ var("renewal_days_before_end") }} days before to {{ var("renewal_days_after_end") }} after'
{%- endmacro %}
