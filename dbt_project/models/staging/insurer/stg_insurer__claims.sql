{{ config(
    unique_key='claim_no',
    indexes=[
        {'columns': ['claim_no'], 'unique': true},
        {'columns': ['merged_for_date']},
    ]
) }}

with source as (
    {{ latest_raw_records(source('raw', 'insurer_claims')) }}
),

renamed as (
    select
        {{ field('报案号') }} as claim_no,
        {{ field('保单号') }} as policy_no,
        {{ field('车架号') }} as vin,
        {{ parse_date("record ->> '出险日期'") }} as loss_date,
        {{ parse_date("record ->> '报案日期'") }} as report_date,
        ({{ field('定损金额') }})::numeric(12, 2) as assessed_amount,
        {{ field('维修单位代码') }} as repair_dealer_code,
        case {{ field('案件状态') }} when '已报案' then 'reported' when '已定损' then 'assessed' when '已结案' then 'closed'
        end as claim_status,
        (version_at at time zone 'Asia/Shanghai')::date as file_date,
        {{ source_version_columns() }}
    from source
)

select * from renamed
