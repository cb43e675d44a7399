# Figures and the report.


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
