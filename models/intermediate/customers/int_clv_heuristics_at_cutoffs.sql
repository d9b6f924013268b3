{#-
    The AWS reference's two CLV heuristics per (cutoff, customer), parameters
    from vars (macros/clv_heuristics.sql). Annual revenue = net spend per day of
    tenure x 365; retention from int_retention_at_cutoffs.
-#}
with

summaries as (

    select * from {{ ref('int_customers_summarized_at_cutoffs') }}

),

retention as (

    select * from {{ ref('int_retention_at_cutoffs') }}

),

final as (

    select
        ---------- ids
        summaries.cutoff_id,
        summaries.customer_id,

        ---------- numerics
        cast(
            round(
                {{ clv_simple(
                    'summaries.net_amount', 'summaries.purchase_day_count',
                    'summaries.recency_days', var('clv_discount_rate')
                ) }}, 6
            ) as double
        ) as clv_simple_heuristic,
        cast(
            round(
                {{ clv_advanced(
                    'summaries.net_amount / (summaries.tenure_days + 1) * 365',
                    var('clv_customer_lifetime_years'),
                    var('clv_acquisition_cost'),
                    var('clv_discount_rate'),
                    'coalesce(retention.retention_rate, 0)'
                ) }}, 6
            ) as double
        ) as clv_advanced_heuristic,
        cast(retention.retention_rate as double) as retention_rate

    from summaries
    left join retention
        on summaries.cutoff_id = retention.cutoff_id

)

select * from final
