# Aggregation: MLflow tracking, statistics, summary with provenance, figures and the report.


localrules:
    track,
    publish,


# Log training histories and metrics to MLflow from the files the jobs wrote (single writer).
rule track:
    input:
        metrics=S.all_metrics(),
        histories=S.histories(),
    output:
        tracking=f"{STUDY}/tracking.json",
    log:
        f"{LOGS}/track/track.log",
    conda:
        ENV
    params:
        results=output_dir,
        study=config["study"],
        uri=config["tracking"]["uri"] or "none",
    shell:
        "shiftlab track --results-dir {params.results} --study {params.study}"
        " --tracking-uri {params.uri:q} --out {output.tracking} > {log} 2>&1"


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


# Figures and one self-contained HTML report.
rule report:
    input:
        summary=f"{STUDY}/summary.csv",
        stats=expand(f"{STUDY}/stats/{{table}}.csv", table=STATS_TABLES),
        histories=S.histories(),
        indexes=S.gallery_indexes(),
    output:
        report=report(
            f"{STUDY}/report.html",
            caption="../report/report.rst",
            category="Report",
        ),
        figures=report(
            directory(f"{STUDY}/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        f"{LOGS}/report/report.log",
    conda:
        ENV
    threads: J.threads("report")
    resources:
        mem_mb=J.mem_mb("report", config),
        runtime=J.runtime("report", config),
    params:
        results=output_dir,
        recipes=S.trained_recipes_json(),
        code=code_hash("report"),
    shell:
        "shiftlab report --results-dir {params.results} --out {output.report}"
        " --figures-dir {output.figures} --histories {input.histories}"
        " --indexes {input.indexes}"
        " --recipes-json {params.recipes:q} > {log} 2>&1"


# The report, summary and figures (and, with tracking.log_models, checkpoints) to MLflow.
rule publish:
    input:
        tracking=f"{STUDY}/tracking.json",
        report=f"{STUDY}/report.html",
        summary=f"{STUDY}/summary.csv",
        figures=f"{STUDY}/figures",
        models=S.published_checkpoints(),
    output:
        published=f"{STUDY}/published.json",
    log:
        f"{LOGS}/publish/publish.log",
    conda:
        ENV
    params:
        models=S.published_model_flags(),
    shell:
        "shiftlab publish --tracking-json {input.tracking} --files {input.report}"
        " {input.summary} --figures-dir {input.figures} {params.models}"
        " --out {output.published} > {log} 2>&1"
