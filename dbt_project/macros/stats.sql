{#- The standard normal CDF Φ(x), from erf by Abramowitz & Stegun 7.1.26 (error < 1.5e-7):
    PostgreSQL 16 has no erf(), and a two-proportion test needs only this. -#}
{% macro normal_cdf(x) -%}
    (case when ({{ x }}) >= 0 then 1 - 0.5 * {{ _erfc_abs(x) }} else 0.5 * {{ _erfc_abs(x) }} end)
{%- endmacro %}

{% macro _erfc_abs(x) -%}
    ((0.254829592 * (1 / (1 + 0.3275911 * abs({{ x }}) / sqrt(2)))
      - 0.284496736 * power(1 / (1 + 0.3275911 * abs({{ x }}) / sqrt(2)), 2)
      + 1.421413741 * power(1 / (1 + 0.3275911 * abs({{ x }}) / sqrt(2)), 3)
      - 1.453152027 * power(1 / (1 + 0.3275911 * abs({{ x }}) / sqrt(2)), 4)
      + 1.061405429 * power(1 / (1 + 0.3275911 * abs({{ x }}) / sqrt(2)), 5))
     * exp(-power({{ x }}, 2) / 2))
{%- endmacro %}

{#- The z of a two-sided 95% interval (Φ⁻¹(0.975)). -#}
{% macro z_95() -%}
    1.959963984540054
{%- endmacro %}

{#- Wilson's score interval for a proportion x/n (Newcomb 1998, method 3): honest for
    small and zero counts (0 of 2 gives [0, 0.6576], where Wald gives [0, 0]). Null when
    n is 0. `bound` is 'lower' or 'upper'. -#}
{% macro wilson_bound(x, n, bound) -%}
    {%- set sign = '-' if bound == 'lower' else '+' -%}
    (case when ({{ n }}) > 0 then
        (
            ({{ x }})::float8 / ({{ n }}) + power({{ z_95() }}, 2) / (2.0 * ({{ n }}))
            {{ sign }} {{ z_95() }} * sqrt(
                greatest(({{ x }})::float8 / ({{ n }}) * (1 - ({{ x }})::float8 / ({{ n }})), 0) / ({{ n }})
                + power({{ z_95() }}, 2) / (4.0 * power(({{ n }}), 2))
            )
        ) / (1 + power({{ z_95() }}, 2) / ({{ n }}))
    end)
{%- endmacro %}

{#- Newcomb's hybrid score interval for the difference of two proportions x1/n1 − x2/n2
    (Newcomb 1998, method 10), from the Wilson intervals of each: the lower bound is
    d − √((p1 − l1)² + (u2 − p2)²), the upper d + √((u1 − p1)² + (p2 − l2)²). Null when
    either group is empty. `bound` is 'lower' or 'upper'. -#}
{% macro newcomb_bound(x1, n1, x2, n2, bound) -%}
    {%- set p1 = '((' ~ x1 ~ ')::float8 / nullif(' ~ n1 ~ ', 0))' -%}
    {%- set p2 = '((' ~ x2 ~ ')::float8 / nullif(' ~ n2 ~ ', 0))' -%}
    {%- if bound == 'lower' -%}
    ({{ p1 }} - {{ p2 }} - sqrt(
        power({{ p1 }} - {{ wilson_bound(x1, n1, 'lower') }}, 2)
        + power({{ wilson_bound(x2, n2, 'upper') }} - {{ p2 }}, 2)
    ))
    {%- else -%}
    ({{ p1 }} - {{ p2 }} + sqrt(
        power({{ wilson_bound(x1, n1, 'upper') }} - {{ p1 }}, 2)
        + power({{ p2 }} - {{ wilson_bound(x2, n2, 'lower') }}, 2)
    ))
    {%- endif -%}
{%- endmacro %}

{#- Two-sided p-value of the two-proportion z-test (pooled variance) of x1/n1 against
    x2/n2. Null when either group is empty; 1 when the pooled rate is 0 or 1 (both
    groups all-or-nothing alike: no difference to test). -#}
{% macro two_proportion_p_value(x1, n1, x2, n2) -%}
    {%- set pooled = '((' ~ x1 ~ ' + ' ~ x2 ~ ')::float8 / nullif(' ~ n1 ~ ' + ' ~ n2 ~ ', 0))' -%}
    {%- set inverse_sizes = '(1.0 / nullif(' ~ n1 ~ ', 0) + 1.0 / nullif(' ~ n2 ~ ', 0))' -%}
    {%- set se = 'sqrt(' ~ pooled ~ ' * (1 - ' ~ pooled ~ ') * ' ~ inverse_sizes ~ ')' -%}
    {%- set p1 = '(' ~ x1 ~ ')::float8 / nullif(' ~ n1 ~ ', 0)' -%}
    {%- set p2 = '(' ~ x2 ~ ')::float8 / nullif(' ~ n2 ~ ', 0)' -%}
    {%- set z = '((' ~ p1 ~ ' - ' ~ p2 ~ ') / nullif(' ~ se ~ ', 0))' -%}
    (case
        when ({{ n1 }}) = 0 or ({{ n2 }}) = 0 then null
        when {{ pooled }} in (0, 1) then 1.0::float8
        else 2 * (1 - {{ normal_cdf('abs(' ~ z ~ ')') }})
    end)
{%- endmacro %}

{#- Post-hook of campaign_effectiveness_pooled: the SQL function
    `marts.campaign_uplift(treated_returned, treated, holdout_returned, held_out)` for a BI
    user who pools other months or dealers than the model's rows: the uplift, Newcomb's
    95% interval and the two-proportion p-value of the summed counts, computed by the same
    macros as the marts. -#}
{% macro campaign_uplift_function() -%}
    create or replace function {{ this.schema }}.campaign_uplift(
        treated_returned bigint, treated bigint, holdout_returned bigint, held_out bigint
    ) returns table (uplift numeric, uplift_ci_low numeric, uplift_ci_high numeric, p_value numeric)
    language sql immutable as $fn$
        select
            round((treated_returned::numeric / nullif(treated, 0) - holdout_returned::numeric / nullif(held_out, 0)), 4),
            round(({{ newcomb_bound('treated_returned', 'treated', 'holdout_returned', 'held_out', 'lower') }})::numeric, 4),
            round(({{ newcomb_bound('treated_returned', 'treated', 'holdout_returned', 'held_out', 'upper') }})::numeric, 4),
            round(({{ two_proportion_p_value('treated_returned', 'treated', 'holdout_returned', 'held_out') }})::numeric, 4)
    $fn$
{%- endmacro %}
