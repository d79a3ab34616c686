-- Rules §3 "one row per customer per day": no customer has more than one row in a day's
-- files (call list, SMS list and exceptions file together). Returns the offending customers.
-- Each build checks the day it decides (D); earlier days were checked by their own builds.
select
    business_date,
    customer_id,
    count(*) as list_rows,
    string_agg(disposition, ', ') as lists
from {{ ref('int_outreach_decisions') }}
where is_list_row and disposition in ('call', 'sms', 'exception') and business_date = {{ business_date() }}
group by business_date, customer_id
having count(*) > 1
