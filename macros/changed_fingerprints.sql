{#-
    Incremental re-scoring: the rows of a CTE (customer_id, scoring_fingerprint)
    whose fingerprint differs from the one this model stored for the customer
    (every row on a full build).
-#}
{% macro changed_fingerprints(fingerprinted) -%}
    select {{ fingerprinted }}.*
    from {{ fingerprinted }}
    {% if is_incremental() %}
        left join {{ this }} as scored
            on {{ fingerprinted }}.customer_id = scored.customer_id
        where
            scored.scoring_fingerprint is distinct from
            {{ fingerprinted }}.scoring_fingerprint
    {% endif %}
{%- endmacro %}
