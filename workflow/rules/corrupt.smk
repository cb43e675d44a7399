# Corruption materialization: ImageNet-C cells, ImageNet-P sequences, sensitivity transforms.


# Materialize one shard of a derived set (decode each image once, write every cell).
rule corrupt_shard:
    input:
        index=f"{STUDY}/index/{{src}}.parquet",
    output:
        part=temp(f"{DATA}/derived/{{src}}-{{k}}/.shards/{{i}}-of-{{n}}.parquet"),
    log:
        f"{LOGS}/corrupt_shard/{{src}}-{{k}}-{{i}}-of-{{n}}.log",
    conda:
        ENV
    threads: J.threads("corrupt_shard")
    resources:
        mem_mb=J.mem_mb("corrupt_shard", config),
        runtime=J.runtime("corrupt_shard", config),
    params:
        out=f"{DATA}/derived/{{src}}-{{k}}",
        seed=config["seed"],
        settings=corrupt_settings,
    shell:
        "shiftlab corrupt --index {input.index} --kind {wildcards.k} --out {params.out}"
        " --seed {params.seed} --params-json {params.settings:q}"
        " --shard {wildcards.i}/{wildcards.n} > {log} 2>&1"


# Merge the shard manifests into the derived set's manifest (marks the set complete).
rule corrupt_merge:
    input:
        index=f"{STUDY}/index/{{src}}.parquet",
        parts=corrupt_shards,
    output:
        manifest=f"{DATA}/derived/{{src}}-{{k}}/manifest.parquet",
    log:
        f"{LOGS}/corrupt_merge/{{src}}-{{k}}.log",
    conda:
        ENV
    threads: J.threads("corrupt_merge")
    resources:
        mem_mb=J.mem_mb("corrupt_merge", config),
        runtime=J.runtime("corrupt_merge", config),
    params:
        out=f"{DATA}/derived/{{src}}-{{k}}",
        seed=config["seed"],
        settings=corrupt_settings,
    shell:
        "shiftlab corrupt --index {input.index} --kind {wildcards.k} --out {params.out}"
        " --seed {params.seed} --params-json {params.settings:q} --merge > {log} 2>&1"
