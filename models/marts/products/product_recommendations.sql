{#-
    Top var('recommendation_k') item-to-item recommendations per customer,
    as of the scoring cutoff.
-#}
with

recommendations as (

    select * from {{ ref('ml_product_recommendations_at_cutoffs') }}
    where cutoff_id = 'scoring' and method = 'item_to_item'

),

products as (

    select * from {{ ref('dim_products') }}

),

final as (

    select
        ---------- ids
        recommendations.customer_id || '/' || cast(
            recommendations.recommendation_rank as varchar
        ) as recommendation_id,
        recommendations.customer_id,
        recommendations.product_id,

        ---------- strings
        products.description as product_description,

        ---------- numerics
        recommendations.recommendation_rank,
        cast(recommendations.score as double) as score

    from recommendations
    left join products
        on recommendations.product_id = products.product_id

)

select * from final
