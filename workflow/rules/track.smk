# MLflow: metrics and histories after the jobs (single writer), then the report's files.


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
