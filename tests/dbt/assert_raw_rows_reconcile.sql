-- Every landed raw row ends in exactly one place: silver lines or quarantine,
-- and nothing else is there. Fails with each raw row placed zero or 2+ times,
-- and with each placed row that is not a landed raw row.
-- With var('data_test_scope') = 'refreshed' (the default) it checks the rows
-- the latest build landed or wrote, against the whole of each table: a row
-- can only move or repeat when a build writes it, and a build stamps what it
-- writes with its batch. The rows int_lines_checked re-checked are in the
-- set: every row of each customer a build touched, so a row that a rewrite
-- of its customer loses is found too. 'all' checks every row.
-- A first or full build has every row in the latest batch: then the plain
-- check of every row runs, which is the cheaper one.
{% set scoped = checks_latest_batch_only([
    (ref('stg_input__landed_lines'), 'landed_batch'),
    (ref('int_lines_checked'), 'refreshed_batch'),
    (ref('int_lines_cleaned'), 'refreshed_batch'),
    (ref('int_lines_quarantined'), 'refreshed_batch'),
]) %}
with

{% if scoped %}
    checked_ids as (

        select raw_row_id from {{ ref('stg_input__landed_lines') }}
        where {{ latest_batch_rows(ref('stg_input__landed_lines'), 'landed_batch') }}
        union
        select raw_row_id from {{ ref('int_lines_checked') }}
        where {{ latest_batch_rows(ref('int_lines_checked')) }}
        union
        select raw_row_id from {{ ref('int_lines_cleaned') }}
        where {{ latest_batch_rows(ref('int_lines_cleaned')) }}
        union
        select raw_row_id from {{ ref('int_lines_quarantined') }}
        where {{ latest_batch_rows(ref('int_lines_quarantined')) }}

    ),
{% endif %}

landed as (

    select raw_row_id from {{ ref('stg_input__landed_lines') }}
    {% if scoped %}
        where raw_row_id in (select checked_ids.raw_row_id from checked_ids)
    {% endif %}

),

placed as (

    select * from (
        select
            raw_row_id,
            'silver' as destination
        from {{ ref('int_lines_cleaned') }}
        union all
        select
            raw_row_id,
            'quarantine' as destination
        from {{ ref('int_lines_quarantined') }}
    )
    {% if scoped %}
        where raw_row_id in (select checked_ids.raw_row_id from checked_ids)
    {% endif %}

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
