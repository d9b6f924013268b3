{#-
    Item-to-item similarity per cutoff, from history before it: cosine of
    co-purchase on the same invoice, count(a and b) / sqrt(count(a) * count(b)),
    over products bought by at least var('recommendation_min_customers')
    customers, keeping each product's 20 most similar products. Built at the
    scoring and backtest cutoffs (int_cutoffs). Incremental by cutoff: a
    cutoff is recomputed when its input fingerprint (ml_product_cutoff_inputs)
    changed, so a daily build leaves the backtest cutoff's pairs alone.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='cutoff_id',
    )
}}
with

lines as (

    select * from {{ ref('int_lines_cleaned') }}
    where line_type = 'sale' and product_id is not null

),

{# the cutoffs whose input changed since this model's last build #}
cutoffs as (

    {{ stale_cutoffs(ref('int_cutoffs'), ref('ml_product_cutoff_inputs')) }}

),

invoice_products as (

    select distinct
        cutoffs.cutoff_id,
        lines.invoice_id,
        lines.customer_id,
        lines.product_id

    from cutoffs
    inner join lines
        on cutoffs.cutoff_date > cast(lines.invoiced_at as date)

),

product_buyers as (

    select
        cutoff_id,
        product_id,
        count(distinct customer_id) as customer_count,
        count(*) as invoice_count

    from invoice_products
    group by 1, 2
    having count(distinct customer_id) >= {{ var('recommendation_min_customers') }}

),

eligible as (

    select invoice_products.*
    from invoice_products
    inner join product_buyers
        on
            invoice_products.cutoff_id = product_buyers.cutoff_id
            and invoice_products.product_id = product_buyers.product_id

),

{# co-purchase is symmetric: count each unordered pair once (materialized,
   as pairs reads it twice), then mirror it #}
unordered_pairs as materialized (

    select
        eligible.cutoff_id,
        eligible.product_id,
        other.product_id as similar_product_id,
        count(*) as co_invoice_count

    from eligible
    inner join eligible as other
        on
            eligible.cutoff_id = other.cutoff_id
            and eligible.invoice_id = other.invoice_id
            and eligible.product_id < other.product_id
    group by 1, 2, 3

),

pairs as (

    select
        cutoff_id,
        product_id,
        similar_product_id,
        co_invoice_count
    from unordered_pairs

    union all

    select
        cutoff_id,
        similar_product_id as product_id,
        product_id as similar_product_id,
        co_invoice_count
    from unordered_pairs

),

scored as (

    select
        ---------- ids
        pairs.cutoff_id,
        pairs.product_id,
        pairs.similar_product_id,

        ---------- numerics
        cast(pairs.co_invoice_count as integer) as co_invoice_count,
        pairs.co_invoice_count
        / sqrt(product_buyers.invoice_count * similar_buyers.invoice_count)
            as similarity

    from pairs
    inner join product_buyers
        on
            pairs.cutoff_id = product_buyers.cutoff_id
            and pairs.product_id = product_buyers.product_id
    inner join product_buyers as similar_buyers
        on
            pairs.cutoff_id = similar_buyers.cutoff_id
            and pairs.similar_product_id = similar_buyers.product_id

),

{# each product's 20 most similar (similarity desc, then product id), as a
   top-N aggregate: no window sort of every pair #}
nearest_lists as (

    select
        cutoff_id,
        product_id,
        min_by(
            struct_pack(
                similar_product_id := similar_product_id,
                co_invoice_count := co_invoice_count,
                similarity := similarity
            ),
            struct_pack(
                negative_similarity := -similarity,
                similar_product_id := similar_product_id
            ),
            20
        ) as picks

    from scored
    group by 1, 2

),

nearest as (

    select
        ---------- ids
        nearest_lists.cutoff_id,
        nearest_lists.product_id,
        unnest(nearest_lists.picks).similar_product_id as similar_product_id,

        ---------- strings
        cutoffs.input_fingerprint,

        ---------- numerics
        unnest(nearest_lists.picks).co_invoice_count as co_invoice_count,
        unnest(nearest_lists.picks).similarity as similarity

    from nearest_lists
    inner join cutoffs
        on nearest_lists.cutoff_id = cutoffs.cutoff_id

)

select * from nearest
