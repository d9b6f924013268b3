{#-
    Per customer as of the scoring cutoff: the probabilistic CLV (BG/NBD +
    Gamma-Gamma) and the two AWS heuristics beside it, with the RFM segment.
-#}
with

rfm as (

    select * from {{ ref('customer_rfm') }}

),

scored as (

    select * from {{ ref('int_customer_clv_scored') }}
    where cutoff_id = 'scoring'

),

heuristics as (

    select * from {{ ref('int_clv_heuristics_at_cutoffs') }}
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
        heuristics.clv_simple_heuristic,
        heuristics.clv_advanced_heuristic,
        heuristics.retention_rate,

        ---------- dates
        rfm.as_of_date

    from rfm
    inner join scored
        on rfm.customer_id = scored.customer_id
    inner join heuristics
        on rfm.customer_id = heuristics.customer_id

)

select * from final
