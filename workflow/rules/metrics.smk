# Metrics: a pure function of the predictions (plus clean and baseline references).


# Compute the official metrics of one run on one benchmark as a tidy CSV.
rule metrics:
    input:
        unpack(metrics_inputs),
    output:
        metrics=f"{STUDY}/metrics/{{run}}/{{bench}}.csv",
    log:
        f"{LOGS}/metrics/{{run}}/{{bench}}.log",
    conda:
        ENV
    threads: J.threads("metrics")
    resources:
        mem_mb=J.mem_mb("metrics", config),
        runtime=J.runtime("metrics", config),
    params:
        benchmark=benchmark_json,
        references=metrics_flags,
        settings=S.metrics_settings(),
        code=code_hash("metrics"),
    shell:
        "shiftlab metrics --run {wildcards.run} --benchmark {wildcards.bench}"
        " --benchmark-json {params.benchmark:q} --predictions {input.predictions}"
        " {params.references} {params.settings} --out {output.metrics} > {log} 2>&1"
