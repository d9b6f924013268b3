{#-
    Every landed row's verdict: the first quarantine rule it breaks (null =
    clean so far), with the duplicate copy number and the non-product flag
    behind it. Narrow on purpose: int_lines_classified joins it back to the
    typed rows, so the wide rows are not written twice. Two rules depend on
    what the format gives: an exact repeat is a duplicate only on an invoice
    (a transaction log like CDNOW has no line identity, so two equal rows are
    two purchases), and a zero price is a free line to drop, while a
    zero-amount transaction in a log is still a purchase. Rules are applied in
    the order of seed quarantine_reasons. Cancellation lines that pass are
    matched to an earlier purchase in int_returns_matched.

    Incremental by customer: every rule here looks at one row, or (duplicates)
    at rows that share the raw customer text, so a build re-checks all rows of
    the customers that have newly landed rows, from all of bronze, and appends
    new rows without a customer (their rule is decided by the row alone).
    refreshed_batch (the latest landed batch when the customer was last
    re-checked) tells the downstream incremental models which customers to
    refresh.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
    )
}}
with

all_staged as not materialized (

    select * from {{ ref('stg_input__lines') }}

),

{% if is_incremental() %}

    new_rows as (

        select * from all_staged
        where raw_row_id > (select coalesce(max(raw_row_id), 0) from {{ this }})

    ),

    staged as (

        select * from all_staged
        where customer_id in (
            select new_rows.customer_id from new_rows
        )

        union all

        select * from new_rows
        where customer_id is null

    ),

{% else %}

    staged as not materialized (

        select * from all_staged

    ),

{% endif %}

non_product_codes as (

    select * from {{ ref('non_product_codes') }}

),

{# exact duplicates: rows equal on every raw value. A group-by on a hash of
   the values finds the candidate sets (usually a small share of the rows), and
   only their rows are numbered, by the values themselves (a hash collision
   only adds candidates, never merges two different rows), so the window does
   not carry every row through a sort. Rows without a customer are quarantined
   before the duplicate rule, so only rows with one are numbered (per
   customer: incremental-safe). #}
hashed as (

    select
        raw_row_id,
        invoice_text,
        product_text,
        description,
        quantity_text,
        unit_price_text,
        line_amount_text,
        invoiced_at_text,
        customer_text,
        country,
        hash(
            invoice_text, product_text, description, quantity_text,
            unit_price_text, line_amount_text, invoiced_at_text,
            customer_text, country
        ) as value_hash

    from staged
    where customer_id is not null

),

repeated_hashes as (

    select value_hash
    from hashed
    group by 1
    having count(*) > 1

),

repeated_rows as (

    select
        raw_row_id,
        row_number() over (
            partition by
                invoice_text, product_text, description, quantity_text,
                unit_price_text, line_amount_text, invoiced_at_text,
                customer_text, country
            order by raw_row_id
        ) as copy_number

    from hashed
    where value_hash in (select repeated_hashes.value_hash from repeated_hashes)

),

duplicates_numbered as (

    select
        staged.*,
        case
            when staged.customer_id is not null
                then coalesce(repeated_rows.copy_number, 1)
        end as copy_number

    from staged
    left join repeated_rows
        on staged.raw_row_id = repeated_rows.raw_row_id

),

non_product_ids as (

    {# per distinct product, not per row: a product's flag depends on its code
       alone (a superset of this build's products is harmless) #}
    select products.product_id
    from (
        select distinct product_id from {{ ref('stg_input__lines') }}
    ) as products
    inner join non_product_codes
        on
            (
                non_product_codes.match_type = 'exact'
                and products.product_id = non_product_codes.stock_code
            )
            or (
                non_product_codes.match_type = 'prefix'
                and starts_with(products.product_id, non_product_codes.stock_code)
            )
    group by 1

),

non_product_flagged as (

    select
        duplicates_numbered.*,
        non_product_ids.product_id is not null as is_non_product

    from duplicates_numbered
    left join non_product_ids
        on duplicates_numbered.product_id = non_product_ids.product_id

),

checked as (

    select
        raw_row_id,
        customer_id,
        copy_number,
        is_non_product,
        (
            select max(landed.landed_batch)
            from {{ ref('stg_input__lines') }} as landed
        ) as refreshed_batch,
        case
            when duplicate_of_file is not null then 'duplicate_file'
            when load_error is not null then load_error
            when invoiced_at_text is null then 'missing_date'
            when invoiced_at is null then 'unparseable_date'
            when has_unparseable_number then 'unparseable_number'
            when quantity is null or line_amount is null then 'missing_value'
            when customer_id is null then 'missing_customer'
            when
                invoiced_at < cast('{{ var("valid_from") }}' as timestamp)
                or invoiced_at >= cast('{{ var("valid_to") }}' as timestamp)
                then 'date_out_of_range'
            when copy_number > 1 and invoice_text is not null then 'duplicate'
            when is_non_product then 'non_product_line'
            when unit_price < 0 then 'non_positive_price'
            when unit_price_text is not null and unit_price = 0
                then 'non_positive_price'
            when not is_cancellation and quantity <= 0 then 'non_positive_quantity'
            when is_cancellation and quantity > 0 then 'invalid_cancellation'
        end as rejection_reason

    from non_product_flagged

)

select * from checked
