{{ config(
    unique_key='policy_no',
    indexes=[
        {'columns': ['policy_no'], 'unique': true},
        {'columns': ['merged_for_date']},
    ]
) }}

-- feeds.md §2: a policy can appear again in a later file; the row with the latest
-- 签单日期 (issue date), then the latest file, wins.
with source as (
    {{ latest_raw_records(source('raw', 'insurer_policies'),
                          precedence=(parse_date("r.record ->> '签单日期'"), 'issue_date')) }}
),

renamed as (
    select
        {{ field('保单号') }} as policy_no,
        {{ field('车架号') }} as vin,
        {{ field('车牌号') }} as plate_no,
        {{ field('被保险人') }} as insured_name,
        {{ normalize_mobile("record ->> '联系电话'") }} as insured_mobile,
        case {{ field('险种') }} when '交强险' then 'compulsory' when '商业险' then 'commercial' end as coverage,
        {{ parse_date("record ->> '起保日期'") }} as start_date,
        {{ parse_date("record ->> '终保日期'") }} as end_date,
        ({{ field('保费') }})::numeric(12, 2) as premium,
        {{ parse_date("record ->> '签单日期'") }} as issue_date,
        {{ field('出单机构') }} as issuing_dealer_code,
        (version_at at time zone 'Asia/Shanghai')::date as file_date,
        {{ source_version_columns() }}
    from source
)

select * from renamed
