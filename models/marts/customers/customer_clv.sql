{#-
    Per customer as of the scoring cutoff: the probabilistic CLV (BG/NBD +
    Gamma-Gamma) and the two AWS heuristics beside it, with the RFM segment.
-#}
with

rfm as (

    select * from {{ ref('customer_rfm') }}

),

summaries as (

    select * from {{ ref('int_customers_summarized_at_cutoffs') }}
    where cutoff_id = 'scoring'

),

scored as (

    select * from {{ ref('int_customer_clv_scored') }}
    where cutoff_id = 'scoring'

),

retention as (

    select * from {{ ref('int_retention_at_cutoffs') }}
    where cutoff_id = 'scoring'

),

final as (

    select
        ---------- ids
        rfm.customer_id,

        ---------- strings
        rfm.segment_name,

        ---------- numerics
        cast(scored.horizon_days as integer) as horizon_days,
        cast(scored.expected_purchases as double) as expected_purchases,
        cast(scored.prob_alive as double) as prob_alive,
        cast(scored.prob_no_purchase as double) as prob_no_purchase,
        cast(scored.expected_order_value as double) as expected_order_value,
        cast(scored.clv as double) as clv,
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
        cast(retention.retention_rate as double) as retention_rate,

        ---------- dates
        rfm.as_of_date

    from rfm
    inner join summaries
        on rfm.customer_id = summaries.customer_id
    inner join scored
        on rfm.customer_id = scored.customer_id
    cross join retention

)

select * from final
