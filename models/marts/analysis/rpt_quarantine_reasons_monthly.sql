with

quarantined as (

    select * from {{ ref('int_lines_quarantined') }}

),

reasons as (

    select * from {{ ref('quarantine_reasons') }}

),

by_month as (

    select
        cast({{ dbt.date_trunc('month', 'invoiced_at') }} as date) as month_start,
        reason_code,
        count(*) as row_count

    from quarantined
    group by 1, 2

),

final as (

    select
        ---------- ids
        coalesce(cast(by_month.month_start as varchar), 'undated')
        || '/' || by_month.reason_code as month_reason_id,

        ---------- strings
        by_month.reason_code,
        reasons.stage as reason_stage,
        reasons.description as reason_description,

        ---------- numerics
        cast(by_month.row_count as bigint) as row_count,

        ---------- dates
        by_month.month_start

    from by_month
    inner join reasons
        on by_month.reason_code = reasons.reason_code

)

select * from final
