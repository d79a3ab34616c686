-- One row per VIN in each dealer's monthly list (厂家下发流失客户), every period kept:
-- the intermediate layer picks the latest period before D. Indexed by its key: the OEM
-- reconciliation's daily build looks a few listed vehicles up by it.
{{ config(indexes=[{'columns': ['dealer_code', 'period', 'vin'], 'unique': true}]) }}
with source as (
    {{ raw_versions_as_of_d(source('raw', 'oem_lost_customers')) }}
),

renamed as (
    select
        split_part(record_version, ' ', 1) as dealer_code,
        split_part(record_version, ' ', 2) as period,
        {{ field('vin') }} as vin,
        {{ field('customer_name') }} as customer_name,
        {{ field('mobile_masked') }} as mobile_masked,
        {{ field('last_service_dealer_code') }} as last_service_dealer_code,
        {{ field('last_service_date') }}::date as last_service_date,
        {{ field('oem_status') }} as oem_status,
        {{ field('reason_hint') }} as reason_hint,
        version_at as generated_at
    from source
)

select * from renamed
