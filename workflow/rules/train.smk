# Models: initial weights for every run, fine-tuning for runs with a recipe.


localrules:
    init_model,


# Wrap a run's initial weights (pretrained or random) into a checkpoint (head node: may fetch weights).
rule init_model:
    output:
        checkpoint=f"{STUDY}/checkpoints/{{run}}/init.pt",
    log:
        f"{LOGS}/init_model/{{run}}.log",
    conda:
        ENV
    params:
        model=model_json,
        label_space=config["label_space"],
        seed=run_seed,
    shell:
        "shiftlab init-model --run {wildcards.run} --model-json {params.model:q}"
        " --label-space {params.label_space:q} --seed {params.seed}"
        " --allow-download --out {output.checkpoint} > {log} 2>&1"


# Fine-tune a run with its recipe; resumable state lives beside the output, not as one.
rule train:
    input:
        init=f"{STUDY}/checkpoints/{{run}}/init.pt",
        train_index=train_index,
    output:
        checkpoint=protected(f"{STUDY}/checkpoints/{{run}}/final.pt"),
        history=f"{STUDY}/checkpoints/{{run}}/history.csv",
    log:
        f"{LOGS}/train/{{run}}.log",
    conda:
        ENV
    threads: J.threads("train")
    resources:
        mem_mb=J.mem_mb("train", config),
        runtime=J.runtime("train", config),
        gpu=0,
    params:
        model=model_json,
        recipe=recipe_json,
        label_space=config["label_space"],
        seed=run_seed,
        nproc=train_nproc,
        device=job_device,
        live=J.live_tracking(config),
        state=f"{STUDY}/checkpoints/{{run}}/state",
    shell:
        "shiftlab train --run {wildcards.run} --model-json {params.model:q}"
        " --recipe-json {params.recipe:q} --train-index {input.train_index}"
        " --label-space {params.label_space:q} --seed {params.seed} --init {input.init}"
        " --out {output.checkpoint} --state-dir {params.state} --history {output.history}"
        " --nproc {params.nproc} --threads {threads} --device {params.device} {params.live}"
        " --no-progress > {log} 2>&1"
