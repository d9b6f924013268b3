{{ config(tags=['ml']) }}
{#-
    Each customer's k-means cluster on RFM, assigned in SQL: standardize
    log1p(recency, frequency, monetary) with the fitted statistics and take the
    nearest centroid (ties: the lower cluster id).
-#}
with

rfm as (

    select * from {{ ref('customer_rfm') }}

),

centroids as (

    select * from {{ ref('ml_rfm_kmeans_centroids') }}

),

customer_features as (

    select
        customer_id,
        'recency_days' as feature_name,
        ln(1 + recency_days) as logged_value

    from rfm
    union all
    select
        customer_id,
        'frequency' as feature_name,
        ln(1 + frequency) as logged_value

    from rfm
    union all
    select
        customer_id,
        'monetary_value' as feature_name,
        ln(1 + greatest(monetary_value, 0)) as logged_value

    from rfm

),

distances as (

    select
        customer_features.customer_id,
        centroids.cluster_id,
        sum(
            power(
                (customer_features.logged_value - centroids.feature_mean)
                / centroids.feature_std
                - centroids.centroid,
                2
            )
        ) as squared_distance

    from customer_features
    inner join centroids
        on customer_features.feature_name = centroids.feature_name
    group by 1, 2

),

nearest as (

    select *
    from distances
    qualify
        row_number() over (
            partition by customer_id order by squared_distance asc, cluster_id asc
        ) = 1

),

final as (

    select
        ---------- ids
        nearest.customer_id,

        ---------- strings
        rfm.segment_name,

        ---------- numerics
        cast(nearest.cluster_id as integer) as cluster_id,
        cast(sqrt(nearest.squared_distance) as double) as distance_to_centroid,
        rfm.recency_days,
        rfm.frequency,
        rfm.monetary_value

    from nearest
    inner join rfm
        on nearest.customer_id = rfm.customer_id

)

select * from final
