# shiftlab: a robustness study as one DAG.
# data -> corrupt -> train -> predict -> metrics -> track -> aggregate -> report
from snakemake.utils import min_version

min_version("9.0")


# The demo config is the default; `--configfile` replaces it instead of merging into it.
if not config:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


# SLURM site settings come from the environment ($SHIFTLAB_SLURM_*; docs/cluster.md).
from shiftlab.cluster import apply_site_defaults, check_slurm_site

apply_site_defaults()


wildcard_constraints:
    run=S.name_regex,
    bench=S.name_regex,
    src=S.name_regex,
    k="[cpt]",
    i=r"\d+",
    n=r"\d+",


include: "workflow/rules/data.smk"
include: "workflow/rules/corrupt.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/track.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/report.smk"


# On SLURM, a partition that does not exist stops the run before any job is submitted.
onstart:
    try:
        check_slurm_site(workflow)
    except UserError as exc:
        sys.exit(f"shiftlab: {exc}")


# After a successful run, record the study's data and results with DVC (head node only;
# dvc.yaml for the default study, records/ for any other: shiftlab.dvc_record).
onsuccess:
    from shiftlab.dvc_record import record_study

    if record_study(
        ".", S, workflow.overwrite_configfiles, enabled=config["dvc"]["commit"]
    ):
        print(
            "shiftlab: outputs recorded with DVC (dvc status is clean; dvc push to share)"
        )


rule all:
    default_target: True
    input:
        study_targets(),
