# Statistics and the summary with provenance.


# Statistics and the summary: every reported number with its provenance.
rule aggregate:
    input:
        metrics=S.all_metrics(),
        predictions=S.all_predictions(),
        tracking=f"{STUDY}/tracking.json",
    output:
        summary=report(
            f"{STUDY}/summary.csv",
            caption="../report/summary.rst",
            category="Summary",
        ),
        stats=expand(f"{STUDY}/stats/{{table}}.csv", table=STATS_TABLES),
        headline=f"{STUDY}/headline.json",
        per_class=f"{STUDY}/per_class.parquet",
    log:
        f"{LOGS}/aggregate/aggregate.log",
    conda:
        ENV
    threads: J.threads("aggregate")
    resources:
        mem_mb=J.mem_mb("aggregate", config),
        runtime=J.runtime("aggregate", config),
    params:
        results=output_dir,
        study=config["study"],
        settings=stats_json,
        config_sha256=config_sha256(),
        code=code_hash("stats", "metrics"),
    shell:
        "shiftlab aggregate --study {params.study} --metrics {input.metrics}"
        " --predictions {input.predictions} --stats-json {params.settings:q}"
        " --config-sha256 {params.config_sha256} --mlflow-ids {input.tracking}"
        " --headline {output.headline}"
        " --out-dir {params.results} > {log} 2>&1"
