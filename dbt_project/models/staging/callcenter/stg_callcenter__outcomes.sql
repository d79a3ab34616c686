-- Every outcome row the call center returned (one per call attempt), as of D.
with source as (
    {{ raw_versions_as_of_d(source('raw', 'callcenter_outcomes')) }}
),

renamed as (
    select
        {{ field('call_id') }} as call_id,
        {{ field('list_date') }}::date as list_date,
        {{ field('dealer_code') }} as dealer_code,
        {{ field('customer_id') }} as customer_id,
        ({{ field('attempt_no') }})::integer as attempt_no,
        {{ field('called_at') }}::timestamptz as called_at,
        {{ field('channel') }} as channel,
        {{ field('outcome') }} as outcome,
        {{ field('callback_date') }}::date as callback_date,
        {{ field('appointment_date') }}::date as appointment_date,
        {{ field('note') }} as note,
        ({{ field('csi_score') }})::integer as csi_score,
        {{ field('complaint_category') }} as complaint_category,
        {{ field('loss_reason') }} as loss_reason,
        (version_at at time zone 'Asia/Shanghai')::date as file_date
    from source
)

select * from renamed
