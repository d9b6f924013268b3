{% macro stale_cutoffs(cutoffs, cutoff_inputs) -%}
    {#- The rows of ``cutoffs`` (int_cutoffs), with their input_fingerprint
        from ``cutoff_inputs``, that this model must recompute: all on a first
        or full build, else those whose fingerprint is not the one stored
        beside this model's rows. -#}
    select
        cutoffs.*,
        cutoff_inputs.input_fingerprint
    from {{ cutoffs }} as cutoffs
    inner join {{ cutoff_inputs }} as cutoff_inputs
        on cutoffs.cutoff_id = cutoff_inputs.cutoff_id
    {% if is_incremental() or bucketed_incremental() %}
        where not exists (
            select 1 from {{ this }} as built
            where
                built.cutoff_id = cutoff_inputs.cutoff_id
                and built.input_fingerprint = cutoff_inputs.input_fingerprint
        )
    {% endif %}
{%- endmacro %}
