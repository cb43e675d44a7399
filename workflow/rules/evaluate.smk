# Evaluation: one prediction job per run x benchmark (ImageNet-C cells stream inside it).


# Predict a benchmark with a run's checkpoint: top-k, probabilities and scores per sample.
rule predict:
    input:
        unpack(predict_inputs),
    output:
        predictions=f"{STUDY}/predictions/{{run}}/{{bench}}.parquet",
    log:
        f"{LOGS}/predict/{{run}}/{{bench}}.log",
    conda:
        ENV
    threads: J.threads("predict")
    resources:
        mem_mb=J.mem_mb("predict", config),
        runtime=J.runtime("predict", config),
        gpu=0,
    params:
        benchmark=benchmark_json,
        flags=predict_flags,
        device=job_device,
    shell:
        "shiftlab predict --checkpoint {input.checkpoint} --index {input.index}"
        " --benchmark-json {params.benchmark:q} --out {output.predictions}"
        " --threads {threads} --device {params.device} {params.flags} > {log} 2>&1"
