-- Every outcome row the call center returned (one per call attempt), as of D.
with source as (
    select
        r.record,
        r.version_at,
        r.batch_id,
        r.locator
    from (select * from {{ source('raw', 'callcenter_outcomes') }}) as r
    where
        r.version_at < {{ business_day_start() }}
        and {{ known_by_d(source('raw', 'callcenter_outcomes'), 'r.batch_id') }}
        and not exists (  -- rows of a file a corrected re-delivery superseded
            select 1 from (select * from {{ source('etl', 'files') }}) as f
            where f.batch_id = r.batch_id and f.status <> 'loaded'
        )
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
