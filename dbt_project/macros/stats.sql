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
