{#-
    Every raw row that did not make it to silver, with its reason and raw text.
    Incremental by customer, like int_lines_cleaned; rows without a customer
    are appended once. The one way a row leaves quarantine (an unmatched
    cancellation whose purchase arrives later as a late line) is handled by the
    post-hook, since a customer may then have no quarantined row left for
    delete+insert to replace.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
        post_hook="
            delete from {{ this }}
            where
                reason_code = 'unmatched_cancellation'
                and raw_row_id in (
                    select raw_row_id from {{ ref('int_returns_matched') }}
                    where is_matched
                )
        ",
    )
}}
with

classified as (

    select * from {{ ref('int_lines_classified') }}
    {% if is_incremental() %}
        where refreshed_batch > (
            select coalesce(max(refreshed_batch), 0) from {{ this }}
        )
    {% endif %}

),

returns_matched as (

    select * from {{ ref('int_returns_matched') }}

),

quarantined as (

    select
        ---------- ids
        classified.raw_row_id,
        classified.customer_id,

        ---------- strings
        coalesce(
            classified.rejection_reason,
            'unmatched_cancellation'
        ) as reason_code,
        classified.input_format,
        classified.source_file,
        classified.invoice_text,
        classified.product_text,
        classified.description,
        classified.quantity_text,
        classified.unit_price_text,
        classified.line_amount_text,
        classified.invoiced_at_text,
        classified.customer_text,
        classified.country,
        classified.raw_line,

        ---------- numerics
        classified.source_line_number,
        classified.refreshed_batch,

        ---------- timestamps
        classified.invoiced_at

    from classified
    left join returns_matched
        on classified.raw_row_id = returns_matched.raw_row_id
    where
        classified.rejection_reason is not null
        or not returns_matched.is_matched

)

select * from quarantined
