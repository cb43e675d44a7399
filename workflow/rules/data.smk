# Data: generate the MiniNet world, fetch published benchmarks, index every benchmark.


localrules:
    fetch,


# Generate the MiniNet world (all official layouts) from its seed.
rule mininet:
    output:
        manifest=f"{DATA}/mininet/MANIFEST.json",
    log:
        f"{LOGS}/mininet/mininet.log",
    conda:
        ENV
    params:
        out=output_dir,
        seed=config["mininet"]["seed"],
        size=config["mininet"]["image_size"],
        train=config["mininet"]["train_per_class"],
        val=config["mininet"]["val_per_class"],
        shifted=config["mininet"]["shifted_per_class"],
    shell:
        "shiftlab mininet --out {params.out} --seed {params.seed} --image-size {params.size}"
        " --train-per-class {params.train} --val-per-class {params.val}"
        " --shifted-per-class {params.shifted} > {log} 2>&1"


# Download a published benchmark, verify its checksum and extract it safely (head node).
rule fetch:
    output:
        marker=f"{DATA}/{{bench}}/.fetched.json",
    log:
        f"{LOGS}/fetch/{{bench}}.log",
    conda:
        ENV
    params:
        args=fetch_args,
    shell:
        "shiftlab fetch {params.args} > {log} 2>&1"


# Index a benchmark: samples with targets mapped into the study's label space by name.
rule index:
    input:
        dataset_ready,
    output:
        index=f"{STUDY}/index/{{bench}}.parquet",
    log:
        f"{LOGS}/index/{{bench}}.log",
    conda:
        ENV
    threads: J.threads("index")
    resources:
        mem_mb=J.mem_mb("index", config),
        runtime=J.runtime("index", config),
    params:
        args=index_params,
    shell:
        "shiftlab index {params.args} --out {output.index} > {log} 2>&1"
