{#-
    The file manifest of incremental landing: one row per input file ever
    landed, with its content fingerprint and the batch that landed it. Each
    build lists var('input_path') (a file or a glob over a landing folder) and
    adds the files it has not seen as the next batch, in name order; the
    landing model then lands every manifest file it does not hold yet.

    A file whose size and modification time match its manifest row is taken as
    unchanged (as make and rsync do); otherwise it is hashed. Two things stop
    the build with one line before anything is landed (checked here, at run
    time, so no optimizer can skip the check): a landed file whose content
    changed (landed rows are never rewritten in place: send corrections as a
    new file, or rebuild with --full-refresh), and an input_path or
    input_format other than the one this warehouse was landed from. A
    byte-identical copy of a landed file under a new name is landed (raw rows
    reconcile) and marked duplicate_of_file; silver quarantines its rows as
    duplicate_file.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
    )
}}
-- depends_on: {{ ref('stg_input__validated') }}
{%- set input_path = sql_string(var('input_path')) -%}
{%- set input_format = sql_string(var('input_format')) -%}
{%- if execute and is_incremental() -%}
    {%- set problems = run_query(
        "select problem from (select known.source_file, case"
        ~ " when known.input_path <> " ~ input_path
        ~ " or known.input_format <> " ~ input_format
        ~ " then 'this warehouse was landed from input_path ' || known.input_path"
        ~ " || ' (' || known.input_format || '); to build from '"
        ~ " || " ~ input_path ~ " || ', rebuild with --full-refresh"
        ~ " or use another warehouse file (CLV_DUCKDB_PATH)'"
        ~ " when (known.size_bytes <> listed.size_bytes"
        ~ " or known.modified_ns <> listed.modified_ns)"
        ~ " and clv_file_sha256(listed.source_file) <> known.file_sha256"
        ~ " then 'input file ' || known.source_file"
        ~ " || ': its content changed after it was landed in batch '"
        ~ " || known.landed_batch || '; send changes as a new file,"
        ~ " or rebuild with --full-refresh' end as problem"
        ~ " from " ~ this ~ " as known"
        ~ " left join (select unnest(clv_input_files(" ~ input_path ~ "),"
        ~ " recursive := true)) as listed"
        ~ " on known.source_file = listed.source_file)"
        ~ " where problem is not null order by source_file limit 1"
    ) -%}
    {%- if problems.rows | length > 0 -%}
        {{ exceptions.raise_compiler_error(problems.rows[0][0]) }}
    {%- endif -%}
{%- endif %}
with

listed as (

    select unnest(
        clv_input_files({{ sql_string(var('input_path')) }}), recursive := true
    )

),

known as (

    {% if is_incremental() %}
        select * from {{ this }}
    {% else %}
        select
            null::varchar as source_file,
            null::varchar as file_sha256,
            null::bigint as size_bytes,
            null::bigint as modified_ns,
            null::integer as landed_batch,
            null::varchar as input_path,
            null::varchar as input_format
        where false
    {% endif %}

),

fingerprinted as (

    select
        listed.source_file,
        listed.size_bytes,
        listed.modified_ns,
        known.file_sha256 as landed_sha256,
        case
            when
                known.size_bytes = listed.size_bytes
                and known.modified_ns = listed.modified_ns
                then known.file_sha256
            else clv_file_sha256(listed.source_file)
        end as file_sha256

    from listed
    left join known
        on listed.source_file = known.source_file

),

new_files as (

    select
        source_file,
        file_sha256,
        size_bytes,
        modified_ns,
        (select coalesce(max(known.landed_batch), 0) + 1 from known)
            as landed_batch

    from fingerprinted
    where landed_sha256 is null

),

all_files as (

    select
        source_file,
        file_sha256,
        landed_batch,
        false as is_new
    from known

    union all

    select
        source_file,
        file_sha256,
        landed_batch,
        true as is_new
    from new_files

),

first_copies as (

    select
        source_file,
        is_new,
        first_value(source_file) over (
            partition by file_sha256 order by landed_batch, source_file
        ) as first_copy_file

    from all_files

),

final as (

    select
        ---------- ids
        new_files.source_file,
        new_files.file_sha256,

        ---------- strings
        nullif(first_copies.first_copy_file, new_files.source_file)
            as duplicate_of_file,
        {{ input_path }} as input_path,
        {{ input_format }} as input_format,

        ---------- numerics
        new_files.size_bytes,
        new_files.modified_ns,
        new_files.landed_batch,

        ---------- timestamps
        now() as listed_at

    from new_files
    inner join first_copies
        on new_files.source_file = first_copies.source_file and first_copies.is_new

)

select * from final
