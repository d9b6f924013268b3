{#-
    Realized accuracy of the served predictions, once their labels matured:
    one row per (task, logged cutoff, model version). ROC AUC per class by the
    rank (Mann-Whitney) formula, ties at their average rank, then the mean over
    the classes that have both positives and negatives: for a binary task the
    one class is the positive class, so this is its ROC AUC; for a multiclass
    task it is the macro one-vs-rest ROC AUC, the tasks' primary metrics
    (as clv_warehouse.ml computes them).
-#}
with

outcomes as (

    select * from {{ ref('ml_prediction_outcomes') }}

),

ranked as (

    select
        task,
        cutoff_date,
        model_version,
        class_label,
        is_actual,
        rank() over (
            partition by task, cutoff_date, model_version, class_label
            order by probability
        ) as lowest_rank,
        count(*) over (
            partition by task, cutoff_date, model_version, class_label, probability
        ) as tie_count

    from outcomes

),

per_class as (

    select
        task,
        cutoff_date,
        model_version,
        class_label,
        count(*) as customer_count,
        count(case when is_actual then 1 end) as positive_count,
        count(case when not is_actual then 1 end) as negative_count,
        sum(
            case when is_actual then lowest_rank + (tie_count - 1) / 2.0 else 0 end
        ) as positive_rank_sum

    from ranked
    group by 1, 2, 3, 4

),

class_auc as (

    select
        *,
        case
            when positive_count > 0 and negative_count > 0
                then
                    (positive_rank_sum - positive_count * (positive_count + 1) / 2.0)
                    / (positive_count * negative_count)
        end as roc_auc

    from per_class

),

final as (

    select
        ---------- ids
        task,

        ---------- numerics
        cast(model_version as integer) as model_version,
        cast(max(customer_count) as integer) as customer_count,
        cast(count(roc_auc) as integer) as class_count,
        cast(avg(roc_auc) as double) as realized_metric_value,

        ---------- dates
        cutoff_date

    from class_auc
    group by 1, 2, 6

)

select * from final
