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

rejected as (

    select
        raw_row_id,
        rejection_reason as reason_code,
        refreshed_batch

    from {{ ref('int_lines_checked') }}
    where rejection_reason is not null
    {% if is_incremental() %}
        and refreshed_batch > {{ last_refreshed_batch() }}
    {% endif %}

),

unmatched_cancellations as (

    select
        raw_row_id,
        'unmatched_cancellation' as reason_code,
        refreshed_batch

    from {{ ref('int_returns_matched') }}
    where not is_matched
    {% if is_incremental() %}
        and refreshed_batch > {{ last_refreshed_batch() }}
    {% endif %}

),

{# the verdicts first, then their raw text: the join's hash table holds the
   quarantined rows only, not every landed row #}
verdicts as (

    select * from rejected
    union all
    select * from unmatched_cancellations

),

staged as (

    select * from {{ ref('stg_input__lines') }}

),

quarantined as (

    select
        ---------- ids
        staged.raw_row_id,
        staged.customer_id,

        ---------- strings
        verdicts.reason_code,
        staged.input_format,
        staged.source_file,
        staged.invoice_text,
        staged.product_text,
        staged.description,
        staged.quantity_text,
        staged.unit_price_text,
        staged.line_amount_text,
        staged.invoiced_at_text,
        staged.customer_text,
        staged.country,
        staged.raw_line,

        ---------- numerics
        staged.source_line_number,
        verdicts.refreshed_batch,

        ---------- timestamps
        staged.invoiced_at

    from verdicts
    inner join staged
        on verdicts.raw_row_id = staged.raw_row_id

)

select * from quarantined
