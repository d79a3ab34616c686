-- The insurer scorecard (rules §7), per insurer, dealer and month, for the `kpi_months`
-- months up to the month of D-1: the policies and premium the dealer sold (出单机构, by
-- issue date), the claims reported (by report date) under policies the dealer sold, those
-- repaired in the group (维修单位代码 a dealer of the group) and their assessed amount
-- (送修产值), and that amount over the premium sold (送修比). The insurer is the folder of
-- the insurer inbox its file came from (the ledger etl.files, by the staged row's batch).
-- A row per insurer, dealer and month with a policy sold or a claim reported.
with policies as (
    select * from {{ ref('stg_insurer__policies') }}
),

claims as (
    select * from {{ ref('stg_insurer__claims') }}
),

group_dealers as (
    select dealer_code from {{ ref('stg_dms__dealers') }}
),

insurer_files as (
    select
        batch_id,
        folder as insurer_code
    from {{ source('etl', 'files') }}
    where feed = 'insurer' and batch_id is not null
),

sales as (
    select
        insurer_files.insurer_code,
        policies.issuing_dealer_code as dealer_code,
        date_trunc('month', policies.issue_date)::date as month,
        count(*) as policies_sold,
        count(*) filter (where policies.coverage = 'commercial') as commercial_policies_sold,
        coalesce(sum(policies.premium), 0) as premium_sold
    from policies
    inner join insurer_files on policies.source_batch_id = insurer_files.batch_id
    inner join group_dealers on policies.issuing_dealer_code = group_dealers.dealer_code
    where policies.issue_date >= {{ kpi_first_month() }} and policies.issue_date < {{ business_date() }}
    group by 1, 2, 3
),

-- claims on vehicles the dealer insured: under a policy the dealer sold
dealer_claims as (
    select
        insurer_files.insurer_code,
        policies.issuing_dealer_code as dealer_code,
        date_trunc('month', claims.report_date)::date as month,
        claims.assessed_amount,
        claims.claim_status,
        repairers.dealer_code is not null as is_repaired_in_group
    from claims
    inner join insurer_files on claims.source_batch_id = insurer_files.batch_id
    inner join policies on claims.policy_no = policies.policy_no
    inner join group_dealers on policies.issuing_dealer_code = group_dealers.dealer_code
    left join group_dealers as repairers on claims.repair_dealer_code = repairers.dealer_code
    where claims.report_date >= {{ kpi_first_month() }} and claims.report_date < {{ business_date() }}
),

claim_figures as (
    select
        insurer_code,
        dealer_code,
        month,
        count(*) as claims_reported,
        count(*) filter (where is_repaired_in_group) as claims_repaired_in_group,
        coalesce(sum(assessed_amount) filter (where is_repaired_in_group), 0) as repaired_in_group_amount,
        bool_and(claim_status = 'closed') as all_claims_closed
    from dealer_claims
    group by 1, 2, 3
)

select
    coalesce(sales.insurer_code, claim_figures.insurer_code) as insurer_code,
    coalesce(sales.dealer_code, claim_figures.dealer_code) as dealer_code,
    coalesce(sales.month, claim_figures.month) as month,
    coalesce(sales.policies_sold, 0) as policies_sold,
    coalesce(sales.commercial_policies_sold, 0) as commercial_policies_sold,
    coalesce(sales.premium_sold, 0)::numeric(14, 2) as premium_sold,
    coalesce(claim_figures.claims_reported, 0) as claims_reported,
    coalesce(claim_figures.claims_repaired_in_group, 0) as claims_repaired_in_group,
    coalesce(claim_figures.repaired_in_group_amount, 0)::numeric(14, 2) as repaired_in_group_amount,
    round(coalesce(claim_figures.repaired_in_group_amount, 0) / nullif(sales.premium_sold, 0), 4)::numeric(10, 4)
        as repair_to_premium_ratio,
    (coalesce(sales.month, claim_figures.month) + interval '1 month')::date <= {{ business_date() }}
    and coalesce(claim_figures.all_claims_closed, true) as is_final
from sales
full outer join claim_figures
    on
        sales.insurer_code = claim_figures.insurer_code
        and sales.dealer_code = claim_figures.dealer_code
        and sales.month = claim_figures.month
