-- Rules §3 "one row per customer per day": no customer is on a day's call list (or SMS
-- list, or exceptions file) twice. Returns the offending customers.
select business_date, customer_id, disposition, count(*) as list_rows
from {{ ref('int_outreach_decisions') }}
where is_list_row and disposition in ('call', 'sms', 'exception')
group by business_date, customer_id, disposition
having count(*) > 1
