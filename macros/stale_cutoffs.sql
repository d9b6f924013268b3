{% macro stale_cutoffs(cutoffs, cutoff_inputs) -%}
    {#- The rows of ``cutoffs`` (int_cutoffs), with their input_fingerprint
        from ``cutoff_inputs``, that this model must recompute: all on a first
        or full build, or when this model's table is from a version of the
        project without the input_fingerprint column; else those whose
        fingerprint is not the one stored beside this model's rows. -#}
    select
        cutoffs.*,
        cutoff_inputs.input_fingerprint
    from {{ cutoffs }} as cutoffs
    inner join {{ cutoff_inputs }} as cutoff_inputs
        on cutoffs.cutoff_id = cutoff_inputs.cutoff_id
    {% if (is_incremental() or bucketed_incremental()) and has_fingerprint_column(this) %}
        where not exists (
            select 1 from {{ this }} as built
            where
                built.cutoff_id = cutoff_inputs.cutoff_id
                and built.input_fingerprint = cutoff_inputs.input_fingerprint
        )
    {% endif %}
{%- endmacro %}


{% macro has_fingerprint_column(relation) -%}
    {#- Whether ``relation`` (an existing table) has an input_fingerprint column:
        tables built before the product models kept one have none, and are
        recomputed whole instead of failing on the missing column. -#}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {{ return('input_fingerprint' in names) }}
{%- endmacro %}
