-- Every landed raw row ends in exactly one place: silver lines or quarantine,
-- and nothing else is there. Fails with each raw row placed zero or 2+ times,
-- and with each placed row that is not a landed raw row.
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

),

strays as (

    select
        placed.raw_row_id,
        -1 as placement_count

    from placed
    left join landed
        on placed.raw_row_id = landed.raw_row_id
    where landed.raw_row_id is null

),

failures as (

    select * from placements
    where placement_count <> 1
    union all
    select * from strays

)

select * from failures
