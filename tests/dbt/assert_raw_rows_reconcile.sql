-- Every landed raw row ends in exactly one place: silver lines or quarantine.
-- Fails with a row when the counts differ or a row is in both or neither.
with

landed as (

    select raw_row_id from {{ ref('stg_input__landed_lines') }}

),

placed as (

    select
        raw_row_id,
        'silver' as destination
    from {{ ref('int_lines_cleaned') }}
    union all
    select
        raw_row_id,
        'quarantine' as destination
    from {{ ref('int_lines_quarantined') }}

),

placements as (

    select
        landed.raw_row_id,
        count(placed.raw_row_id) as placement_count

    from landed
    left join placed
        on landed.raw_row_id = placed.raw_row_id
    group by 1

)

select * from placements
where placement_count <> 1
