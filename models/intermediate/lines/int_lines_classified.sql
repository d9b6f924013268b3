{#-
    Every staged row with the first quarantine rule it breaks (null = clean so
    far). Two rules depend on what the format gives: an exact repeat is a
    duplicate only on an invoice (a transaction log like CDNOW has no line
    identity, so two equal rows are two purchases), and a zero price is a free
    line to drop, while a zero-amount transaction in a log is still a purchase. Rules are applied in the order of seed quarantine_reasons. Cancellation
    lines that pass are matched to an earlier purchase in int_returns_matched.
-#}
with

staged as (

    select * from {{ ref('stg_input__lines') }}

),

non_product_codes as (

    select * from {{ ref('non_product_codes') }}

),

duplicates_numbered as (

    select
        *,
        row_number() over (
            partition by
                invoice_text, product_text, description, quantity_text,
                unit_price_text, line_amount_text, invoiced_at_text,
                customer_text, country
            order by raw_row_id
        ) as copy_number

    from staged

),

non_product_flagged as (

    select
        duplicates_numbered.*,
        exists(
            select 1
            from non_product_codes
            where
                (
                    non_product_codes.match_type = 'exact'
                    and duplicates_numbered.product_id = non_product_codes.stock_code
                )
                or (
                    non_product_codes.match_type = 'prefix'
                    and starts_with(
                        duplicates_numbered.product_id, non_product_codes.stock_code
                    )
                )
        ) as is_non_product

    from duplicates_numbered

),

classified as (

    select
        *,
        case
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

select * from classified
