{#-
    Cancellation lines (Online Retail invoices starting with C) matched to the
    latest earlier purchase of the same product by the same customer. Unmatched
    cancellations (the purchase predates the data) are quarantined.

    Incremental by customer: matching never leaves a customer, so a build
    re-matches all cancellations of the customers int_lines_classified
    refreshed since this table's last build (a late line of an old invoice can
    become a better match, or give an unmatched cancellation its purchase).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
    )
}}
with

classified as (

    select * from {{ ref('int_lines_classified') }}
    where rejection_reason is null
    {% if is_incremental() %}
        and customer_id in (
            {{ refreshed_keys(ref('int_lines_classified'), 'customer_id') }}
        )
    {% endif %}

),

cancellations as (

    select * from classified
    where is_cancellation

),

sales as (

    select * from classified
    where not is_cancellation

),

candidates_ranked as (

    select
        cancellations.raw_row_id,
        sales.invoice_id as original_invoice_id,
        row_number() over (
            partition by cancellations.raw_row_id
            order by
                sales.invoiced_at desc, sales.invoice_id desc, sales.raw_row_id desc
        ) as candidate_rank

    from cancellations
    inner join sales
        on
            cancellations.customer_id = sales.customer_id
            and cancellations.product_id = sales.product_id
            and cancellations.invoiced_at >= sales.invoiced_at

),

matched as (

    select
        cancellations.raw_row_id,
        cancellations.customer_id,
        candidates_ranked.original_invoice_id,
        cancellations.refreshed_batch,
        candidates_ranked.original_invoice_id is not null as is_matched

    from cancellations
    left join candidates_ranked
        on
            cancellations.raw_row_id = candidates_ranked.raw_row_id
            and candidates_ranked.candidate_rank = 1

)

select * from matched
