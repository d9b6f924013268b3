{#-
    Top var('recommendation_k') products per customer and cutoff by two
    methods: item_to_item (sum of similarities to what the customer bought) and
    top_sellers (the baseline: most-bought products). Products the customer
    already bought are excluded unless var('recommend_repeat_purchases').
-#}
with

lines as (

    select * from {{ ref('int_lines_cleaned') }}
    where line_type = 'sale' and product_id is not null

),

cutoffs as (

    select * from {{ ref('int_cutoffs') }}

),

similarities as (

    select * from {{ ref('ml_product_similarities') }}

),

bought as (

    select distinct
        cutoffs.cutoff_id,
        lines.customer_id,
        lines.product_id

    from cutoffs
    inner join lines
        on cutoffs.cutoff_date > cast(lines.invoiced_at as date)

),

item_scores as (

    select
        bought.cutoff_id,
        bought.customer_id,
        similarities.similar_product_id as product_id,
        sum(similarities.similarity) as score

    from bought
    inner join similarities
        on
            bought.cutoff_id = similarities.cutoff_id
            and bought.product_id = similarities.product_id
    group by 1, 2, 3

),

popularity as (

    select
        cutoff_id,
        product_id,
        count(*) as customer_count

    from bought
    group by 1, 2

),

top_products as (

    select *
    from popularity
    qualify
        row_number() over (
            partition by cutoff_id order by customer_count desc, product_id asc
        ) <= 3 * {{ var('recommendation_k') }}

),

customers as (

    select distinct
        cutoff_id,
        customer_id

    from bought

),

seller_scores as (

    select
        customers.cutoff_id,
        customers.customer_id,
        top_products.product_id,
        cast(top_products.customer_count as double) as score

    from customers
    inner join top_products
        on customers.cutoff_id = top_products.cutoff_id

),

candidates as (

    select
        'item_to_item' as method,
        *
    from item_scores
    union all
    select
        'top_sellers' as method,
        *
    from seller_scores

),

unbought as (

    select candidates.*
    from candidates
    left join bought
        on
            candidates.cutoff_id = bought.cutoff_id
            and candidates.customer_id = bought.customer_id
            and candidates.product_id = bought.product_id
    {% if not var('recommend_repeat_purchases') %}
        where bought.product_id is null
    {% endif %}

),

ranked as (

    select
        ---------- ids
        cutoff_id,
        customer_id,
        product_id,

        ---------- strings
        method,

        ---------- numerics
        score,
        cast(
            row_number() over (
                partition by cutoff_id, method, customer_id
                order by score desc, product_id asc
            ) as integer
        ) as recommendation_rank

    from unbought

)

select * from ranked
where recommendation_rank <= {{ var('recommendation_k') }}
