{#-
    RFM as of the scoring cutoff. Scores are quintiles by percent_rank, so tied
    values share a score (never dependent on row order) and a big tie at the
    bottom (the one-time buyers) scores 1.
-#}
with

summaries as (

    select * from {{ ref('int_customers_summarized_at_cutoffs') }}
    where cutoff_id = 'scoring'

),

segments as (

    select * from {{ ref('rfm_segments') }}

),

scored as (

    select
        customer_id,
        recency_days,
        purchase_day_count,
        order_count,
        net_amount,
        tenure_days,
        cutoff_date,
        first_purchase_date,
        last_purchase_date,
        cast(
            least(5, 1 + floor(5 * percent_rank() over (order by recency_days desc)))
            as integer
        ) as recency_score,
        cast(
            least(5, 1 + floor(5 * percent_rank() over (order by purchase_day_count)))
            as integer
        ) as frequency_score,
        cast(
            least(5, 1 + floor(5 * percent_rank() over (order by net_amount)))
            as integer
        ) as monetary_score

    from summaries

),

final as (

    select
        ---------- ids
        scored.customer_id,

        ---------- strings
        segments.segment_id,
        segments.segment_name,
        cast(
            scored.recency_score * 100 + scored.frequency_score * 10
            + scored.monetary_score as varchar
        ) as rfm_cell,

        ---------- numerics
        scored.recency_days,
        scored.purchase_day_count as frequency,
        scored.order_count,
        cast(scored.net_amount as decimal(18, 2)) as monetary_value,
        cast(scored.net_amount / scored.purchase_day_count as decimal(18, 2))
            as average_purchase_value,
        scored.tenure_days,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,

        ---------- dates
        scored.cutoff_date as as_of_date,
        scored.first_purchase_date,
        scored.last_purchase_date

    from scored
    inner join segments
        on
            scored.recency_score = segments.recency_score
            and scored.frequency_score = segments.frequency_score

)

select * from final
