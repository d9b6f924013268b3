{#-
    Recommendations made at the backtest cutoff, checked against what each
    customer bought in the holdout, in the way Dynamics 365 Customer Insights
    grades its product recommendations: Success@K = share of customers who
    bought a product they had not bought before (the evaluated customers, the
    same for every method) and bought at least one of their K
    recommendations; precision@K = hits / K. item_to_item vs the
    top_sellers baseline.
-#}
with

recommendations as (

    select * from {{ ref('ml_product_recommendations_at_cutoffs') }}
    where cutoff_id = 'backtest'

),

cutoffs as (

    select * from {{ ref('int_cutoffs') }}
    where cutoff_id = 'backtest'

),

lines as (

    select * from {{ ref('int_lines_cleaned') }}
    where line_type = 'sale' and product_id is not null

),

{# each (customer, product)'s first purchase: bought before the cutoff =
   history; first bought in the holdout = new in the holdout (one group-by
   instead of two distinct scans and an anti-join) #}
first_bought as (

    select
        customer_id,
        product_id,
        min(cast(invoiced_at as date)) as first_bought_on

    from lines
    group by 1, 2

),

history as (

    select
        first_bought.customer_id,
        first_bought.product_id

    from first_bought
    cross join cutoffs
    where first_bought.first_bought_on < cutoffs.cutoff_date

),

holdout_new as (

    select
        first_bought.customer_id,
        first_bought.product_id

    from first_bought
    cross join cutoffs
    where
        first_bought.first_bought_on >= cutoffs.cutoff_date
        and first_bought.first_bought_on <= cutoffs.holdout_end_date

),

evaluated_customers as (

    select distinct holdout_new.customer_id
    from holdout_new
    where holdout_new.customer_id in (select history.customer_id from history)

),

methods as (

    select distinct method from recommendations

),

hits as (

    select
        methods.method,
        evaluated_customers.customer_id,
        count(holdout_new.product_id) as hit_count

    from evaluated_customers
    cross join methods
    left join recommendations
        on
            evaluated_customers.customer_id = recommendations.customer_id
            and methods.method = recommendations.method
    left join holdout_new
        on
            recommendations.customer_id = holdout_new.customer_id
            and recommendations.product_id = holdout_new.product_id
    group by 1, 2

),

by_method as (

    select
        method,
        count(*) as customer_count,
        {# rounded: a parallel sum's last bits depend on the thread split #}
        round(avg(case when hit_count > 0 then 1.0 else 0.0 end), 12)
            as success_at_k,
        round(avg(hit_count / {{ var('recommendation_k') }}), 12) as precision_at_k

    from hits
    group by 1

),

final as (

    select
        ---------- ids
        by_method.method,

        ---------- numerics
        {{ var('recommendation_k') }} as k,
        cast(by_method.customer_count as integer) as customer_count,
        cast(by_method.success_at_k as double) as success_at_k,
        cast(by_method.precision_at_k as double) as precision_at_k,
        cast(
            by_method.success_at_k / nullif(baseline.success_at_k, 0) - 1 as double
        ) as success_lift_vs_top_sellers,

        ---------- dates
        cutoffs.cutoff_date as backtest_cutoff,
        cutoffs.holdout_end_date as backtest_holdout_end

    from by_method
    cross join cutoffs
    left join by_method as baseline
        on baseline.method = 'top_sellers'

)

select * from final
