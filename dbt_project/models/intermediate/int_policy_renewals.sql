{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ prepare_policy_renewals_increment() }}",
    post_hook=["{{ record_staging_build(source('raw', 'insurer_policies'), merged_by='stg_insurer__policies') }}",
               "{{ record_rules(renewal_rules_fingerprint()) }}",
               "{{ index_if_missing(['vin']) }}",
               "{{ index_if_missing(['renewal_window_closes_on']) }}",
               "{{ index_if_missing(['merged_for_date']) }}"],
    indexes=[{'columns': ['policy_no'], 'unique': true}, {'columns': ['vin']}, {'columns': ['renewal_window_closes_on']},
             {'columns': ['merged_for_date']}],
    meta={'build_date_column': 'merged_for_date'}
) }}
-- depends_on: {{ source('raw', 'insurer_policies') }}

-- Rules §7: whether, and where, each policy was renewed. A renewal is a later policy of the
-- same coverage (commercial after commercial, compulsory after compulsory) on the same VIN,
-- starting between `renewal_days_before_end` (45) days before and `renewal_days_after_end`
-- (30) days after the policy's end date; through the group when a dealer of the group sold
-- it (出单机构). The one definition the renewal KPIs (§7) and INSURANCE_RENEWAL's outcome
-- (§5) read. The window closes `renewal_days_after_end` days after the end date: until it
-- has closed before D, a renewal can still come.
-- Incremental: a daily build recomputes only the policies of the VINs whose policies
-- changed or whose window closed since the last build (macros/policy_renewals_increment.sql).
with policies as (
    select * from {{ ref('stg_insurer__policies') }}
    {%- if is_incremental() and policy_renewals_increment().mode == 'incremental' %}
        where vin in (select int_policy_renewals__touched.vin from int_policy_renewals__touched)
    {%- else %}
        where vin is not null
    {%- endif %}
),

group_dealers as (
    select * from {{ ref('stg_dms__dealers') }}
),

renewals as (
    select
        due.policy_no,
        later.policy_no as renewal_policy_no,
        later.issuing_dealer_code as renewal_dealer_code,
        later.premium as renewal_premium,
        later.start_date as renewal_start_date,
        group_dealers.dealer_code is not null as is_via_group
    from policies as due
    inner join policies as later
        on
            due.vin = later.vin
            and due.coverage = later.coverage
            and due.policy_no <> later.policy_no
            and due.start_date < later.start_date
            and later.start_date between due.end_date - {{ var('renewal_days_before_end') }}
            and due.end_date + {{ var('renewal_days_after_end') }}
    left join group_dealers on later.issuing_dealer_code = group_dealers.dealer_code
),

-- the first renewal (by start date, then policy number) anywhere, and the first through the group
first_anywhere as (
    select distinct on (policy_no) *
    from renewals
    order by policy_no, renewal_start_date, renewal_policy_no
),

first_via_group as (
    select distinct on (policy_no) *
    from renewals
    where is_via_group
    order by policy_no, renewal_start_date, renewal_policy_no
)

select
    policies.policy_no,
    policies.vin,
    policies.coverage,
    policies.start_date,
    policies.end_date,
    policies.issuing_dealer_code,
    (policies.end_date + {{ var('renewal_days_after_end') }})::date as renewal_window_closes_on,
    policies.end_date + {{ var('renewal_days_after_end') }} < {{ business_date() }} as is_window_closed,
    first_anywhere.policy_no is not null as is_renewed_anywhere,
    first_anywhere.renewal_policy_no,
    first_anywhere.renewal_dealer_code,
    first_via_group.policy_no is not null as is_renewed_via_group,
    first_via_group.renewal_policy_no as group_renewal_policy_no,
    first_via_group.renewal_dealer_code as group_renewal_dealer_code,
    first_via_group.renewal_premium as group_renewal_premium,
    {{ business_date() }} as merged_for_date
from policies
left join first_anywhere on policies.policy_no = first_anywhere.policy_no
left join first_via_group on policies.policy_no = first_via_group.policy_no
