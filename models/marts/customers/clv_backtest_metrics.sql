{#-
    Every CLV method scored on the backtest holdout: one row per method and
    metric, with the method's A/B/C grade against the naive baseline.
-#}
with

evaluated as (

    select * from {{ ref('int_clv_backtest_evaluated') }}

),

cutoffs as (

    select * from {{ ref('int_cutoffs') }}
    where cutoff_id = 'backtest'

),

final as (

    select
        ---------- ids
        {{ sql_string(var('dataset_name')) }} || '/'
        || evaluated.method || '/' || evaluated.metric as metric_id,

        ---------- strings
        {{ sql_string(var('dataset_name')) }} as dataset,
        evaluated.method,
        evaluated.metric,
        evaluated.grade,

        ---------- numerics
        cast(evaluated.value as double) as value,

        ---------- dates
        cutoffs.cutoff_date as backtest_cutoff,
        cutoffs.holdout_end_date as backtest_holdout_end

    from evaluated
    cross join cutoffs

)

select * from final
