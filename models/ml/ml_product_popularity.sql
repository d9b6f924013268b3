{#-
    Buyers per product and cutoff, from history before the cutoff, with the
    product's rank by buyers: the top_sellers baseline of
    ml_product_recommendations_at_cutoffs. A table of its own because the
    recommendations are built one bucket of customers at a time, and a
    product's buyers span every bucket. Incremental by cutoff: a cutoff is
    recomputed when its input fingerprint (ml_product_cutoff_inputs) changed.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='cutoff_id',
        on_schema_change='append_new_columns',
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

{# (product, customer) pairs first, then a count: a group-by that spills,
   where count(distinct) per product would hold each product's customers #}
product_customers as (

    select distinct
        cutoffs.cutoff_id,
        cutoffs.input_fingerprint,
        lines.product_id,
        lines.customer_id

    from cutoffs
    inner join lines
        on cutoffs.cutoff_date > cast(lines.invoiced_at as date)

),

buyers as (

    select
        cutoff_id,
        input_fingerprint,
        product_id,
        count(*) as customer_count

    from product_customers
    group by 1, 2, 3

),

final as (

    select
        ---------- ids
        cutoff_id,
        product_id,

        ---------- strings
        input_fingerprint,

        ---------- numerics
        cast(customer_count as integer) as customer_count,
        cast(row_number() over (
            partition by cutoff_id order by customer_count desc, product_id asc
        ) as integer) as popularity_rank

    from buyers

)

select * from final
