{#-
    Population stability index (PSI) of each key feature (var drift_features):
    the customers being scored now (ml_scoring_features) against the champion's
    reference population, the customers at the cutoff it last went into service
    at (the ml_customer_features rows of the latest cutoff on or before its
    last_retrain_cutoff: when it was trained, or last defended its place). Not
    its whole training window: that stacks younger populations, and the aging
    of the customer base alone (dead customers pile up) would then read as
    drift at every build.
    Population (var drift_population): 'active' (default) keeps, on both
    sides, the customers with a purchase within var churn_window_days before
    the cutoff, the ones whose behaviour the scores act on; 'all' keeps every
    customer with a purchase before the cutoff. Over all customers the
    lapsed ones (two thirds of the sample's scored base) dilute a change among
    the active ones, and their share moves with the season, so PSI says more
    about the age of the base than about its behaviour.
    Bins: the distinct deciles of the reference (a value falls in the bin of
    the number of edges below it), so heavily tied features get fewer bins.
    PSI = sum over bins of (scoring share - reference share) * ln(scoring /
    reference), each share floored at var drift_psi_epsilon. One row per
    (task with a champion, feature).
-#}
{%- set features = var('drift_features') -%}
{%- set epsilon = var('drift_psi_epsilon') -%}
{%- set population = var('drift_population') | string -%}
{%- if execute and population not in ('active', 'all') -%}
    {{ exceptions.raise_compiler_error(
        "var drift_population must be 'active' or 'all', got '" ~ population ~ "'"
    ) }}
{%- endif -%}
{%- set active_only = population == 'active' -%}
with

champions as (

    select * from {{ ref('ml_champions_before') }}

),

feature_rows as (

    select * from {{ ref('ml_customer_features') }}

),

scoring_rows as (

    select * from {{ ref('ml_scoring_features') }}

),

feature_cutoffs as (

    select distinct cutoff_date from feature_rows

),

reference_population as (

    select * from feature_rows
    {% if active_only -%}
        where recency_days < {{ var('churn_window_days') }}
    {%- endif %}

),

scoring_population as (

    select * from scoring_rows
    {% if active_only -%}
        where recency_days < {{ var('churn_window_days') }}
    {%- endif %}

),

reference_cutoffs as (

    select
        champions.task,
        max(feature_cutoffs.cutoff_date) as reference_cutoff_date

    from champions
    inner join feature_cutoffs
        on champions.last_retrain_cutoff >= feature_cutoffs.cutoff_date
    group by 1

),

reference_long as (

    {% for feature in features -%}
        select
            reference_cutoffs.task,
            '{{ feature }}' as feature_name,
            cast(reference_population.{{ feature }} as double) as feature_value

        from reference_population
        inner join reference_cutoffs
            on
                reference_population.cutoff_date
                = reference_cutoffs.reference_cutoff_date
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

scoring_long as (

    {% for feature in features -%}
        select
            champions.task,
            '{{ feature }}' as feature_name,
            cast(scoring_population.{{ feature }} as double) as feature_value

        from scoring_population
        cross join champions
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

deciles as (

    select
        task,
        feature_name,
        quantile_disc(
            feature_value, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
        ) as decile_values

    from reference_long
    where feature_value is not null
    group by 1, 2

),

edges as (

    select distinct
        task,
        feature_name,
        unnest(decile_values) as edge

    from deciles

),

population_values as (

    select
        'reference' as population,
        task,
        feature_name,
        feature_value,
        count(*) as row_count

    from reference_long
    where feature_value is not null
    group by 1, 2, 3, 4
    union all
    select
        'scoring' as population,
        task,
        feature_name,
        feature_value,
        count(*) as row_count

    from scoring_long
    where feature_value is not null
    group by 1, 2, 3, 4

),

binned as (

    select
        population_values.population,
        population_values.task,
        population_values.feature_name,
        population_values.feature_value,
        population_values.row_count,
        count(edges.edge) as bin_index

    from population_values
    left join edges
        on
            population_values.task = edges.task
            and population_values.feature_name = edges.feature_name
            and population_values.feature_value > edges.edge
    group by 1, 2, 3, 4, 5

),

edge_counts as (

    select
        task,
        feature_name,
        count(*) as edge_count

    from edges
    group by 1, 2

),

bin_spine as (

    select
        task,
        feature_name,
        unnest(generate_series(0, edge_count)) as bin_index

    from edge_counts

),

bin_counts as (

    select
        bin_spine.task,
        bin_spine.feature_name,
        bin_spine.bin_index,
        coalesce(sum(
            case when binned.population = 'reference' then binned.row_count end
        ), 0) as reference_count,
        coalesce(sum(
            case when binned.population = 'scoring' then binned.row_count end
        ), 0) as scoring_count

    from bin_spine
    left join binned
        on
            bin_spine.task = binned.task
            and bin_spine.feature_name = binned.feature_name
            and bin_spine.bin_index = binned.bin_index
    group by 1, 2, 3

),

bin_shares as (

    select
        task,
        feature_name,
        bin_index,
        reference_count,
        scoring_count,
        greatest(
            reference_count / nullif(
                sum(reference_count) over (partition by task, feature_name), 0
            ),
            {{ epsilon }}
        ) as reference_share,
        greatest(
            scoring_count / nullif(
                sum(scoring_count) over (partition by task, feature_name), 0
            ),
            {{ epsilon }}
        ) as scoring_share

    from bin_counts

),

final as (

    select
        ---------- ids
        bin_shares.task,
        bin_shares.feature_name,

        ---------- strings
        '{{ population }}' as drift_population,

        ---------- numerics
        cast(champions.version as integer) as champion_version,
        reference_cutoffs.reference_cutoff_date,
        cast(sum(bin_shares.reference_count) as integer) as reference_rows,
        cast(sum(bin_shares.scoring_count) as integer) as scoring_rows,
        cast(count(*) as integer) as bin_count,
        -- rounded: a parallel sum's last bits depend on the thread schedule
        cast(round(sum(
            (bin_shares.scoring_share - bin_shares.reference_share)
            * ln(bin_shares.scoring_share / bin_shares.reference_share)
        ), 9) as double) as psi

    from bin_shares
    inner join champions
        on bin_shares.task = champions.task
    inner join reference_cutoffs
        on bin_shares.task = reference_cutoffs.task
    group by 1, 2, 3, 4, 5

)

select * from final
