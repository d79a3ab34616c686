-- One row per customer as the DMS keeps them after merges: merged duplicate records are
-- folded into the customer they were merged into. Personal data only masked.
with customers as (
    select * from {{ ref('stg_dms__customers') }}
),

identity as (
    select * from {{ ref('int_customers_resolved') }}
),

merged_counts as (
    select
        resolved_customer_id as customer_id,
        count(*) filter (where is_merged) as merged_records
    from identity
    group by resolved_customer_id
),

dealers as (
    select * from {{ ref('stg_dms__dealers') }}
)

select
    customers.customer_id,
    customers.home_dealer_code,
    {{ mask_name('customers.customer_name') }} as customer_name_masked,
    customers.gender,
    extract(year from customers.birth_date)::integer / 10 * 10 as birth_decade,
    {{ mask_mobile('customers.mobile') }} as mobile_masked,
    customers.mobile is not null as has_valid_mobile,
    customers.city,
    coalesce(customers.city = dealers.city, false) as is_local,
    customers.consent_call,
    customers.consent_sms,
    customers.member_tier,
    coalesce(merged_counts.merged_records, 0) as merged_records,
    customers.created_at
from customers
inner join identity on customers.customer_id = identity.customer_id and not identity.is_merged
left join merged_counts on customers.customer_id = merged_counts.customer_id
left join dealers on customers.home_dealer_code = dealers.dealer_code
