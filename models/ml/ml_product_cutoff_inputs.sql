{#-
    One row per cutoff: a fingerprint of the sale lines before it and of the
    recommendation vars. ml_product_popularity, ml_product_similarities and
    ml_product_recommendations_at_cutoffs recompute a cutoff only when its
    fingerprint differs from the one stored beside their rows: the backtest
    cutoff moves once a month, so a daily build recomputes the scoring
    cutoff alone. The fingerprint is order-independent (a sum of row hashes).
-#}
with

lines as (

    select * from {{ ref('int_lines_cleaned') }}
    where line_type = 'sale' and product_id is not null

),

cutoffs as (

    select * from {{ ref('int_cutoffs') }}

),

fingerprinted as (

    select
        cutoffs.cutoff_id,
        cutoffs.cutoff_date,
        count(lines.product_id) as line_count,
        coalesce(
            sum(
                hash(
                    lines.invoice_id,
                    lines.customer_id,
                    lines.product_id,
                    lines.invoiced_at
                )
            ),
            0
        ) as line_hash_sum

    from cutoffs
    left join lines
        on cutoffs.cutoff_date > cast(lines.invoiced_at as date)
    group by 1, 2

),

final as (

    select
        ---------- ids
        cutoff_id,

        ---------- strings
        md5(
            concat_ws(
                '|',
                cast(cutoff_date as varchar),
                cast(line_count as varchar),
                cast(line_hash_sum as varchar),
                '{{ var("recommendation_k") }}',
                '{{ var("recommendation_min_customers") }}',
                '{{ var("recommendation_basis_products") }}',
                '{{ var("recommend_repeat_purchases") }}'
            )
        ) as input_fingerprint,

        ---------- numerics
        cast(line_count as bigint) as line_count,

        ---------- dates
        cutoff_date

    from fingerprinted

)

select * from final
