-- Every (recency_score, frequency_score) pair 1-5 x 1-5 has exactly one segment.
with

scores as (

    select generate_series as score from generate_series(1, 5)

),

grid as (

    select
        recency.score as recency_score,
        frequency.score as frequency_score

    from scores as recency
    cross join scores as frequency

),

segments as (

    select * from {{ ref('rfm_segments') }}

),

matched as (

    select
        grid.recency_score,
        grid.frequency_score,
        count(segments.segment_id) as segment_count

    from grid
    left join segments
        on
            grid.recency_score = segments.recency_score
            and grid.frequency_score = segments.frequency_score
    group by 1, 2

)

select * from matched
where segment_count <> 1
