{#- Incremental by invoice, following int_orders_aggregated. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='invoice_id',
        on_schema_change='fail',
    )
}}
with

orders as (

    select * from {{ ref('int_orders_aggregated') }}
    {% if is_incremental() %}
        where refreshed_batch > {{ last_refreshed_batch() }}
    {% endif %}

),

final as (

    select
        ---------- ids
        invoice_id,
        customer_id,

        ---------- strings
        country,

        ---------- numerics
        cast(line_count as bigint) as line_count,
        cast(product_count as bigint) as product_count,
        cast(unit_count as double) as unit_count,
        cast(returned_line_count as bigint) as returned_line_count,
        cast(gross_amount as decimal(18, 2)) as gross_amount,
        cast(returned_amount as decimal(18, 2)) as returned_amount,
        cast(net_amount as decimal(18, 2)) as net_amount,
        refreshed_batch,

        ---------- booleans
        has_return,

        ---------- dates
        invoice_date,

        ---------- timestamps
        cast(invoiced_at as timestamp) as invoiced_at,
        cast(last_returned_at as timestamp) as last_returned_at

    from orders

)

select * from final
