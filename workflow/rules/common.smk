# Config loading and validation, wildcard constraints, and the input functions of the rules.
import json
import sys

from shiftlab import config as study_config
from shiftlab import jobs as J
from shiftlab.errors import UserError
from shiftlab.workflow import Study

try:
    config.update(study_config.validate(config))
except UserError as exc:
    sys.exit(f"shiftlab: {exc}")

S = Study(config)
STUDY = S.study_dir
DATA = S.data_dir
ENV = "../../envs/shiftlab.yaml"
LOGS = f"logs/{config['study']}"
STATS_TABLES = S.stats_tables


def output_dir(wildcards, output):
    """Folder of a rule's first output (a prefix param that follows the output path)."""
    import os

    return os.path.dirname(output[0])


def study_targets():
    """The final targets of the study (report, summary, tracking record)."""
    return S.final_targets()


def dataset_ready(wildcards):
    """The file whose existence means the benchmark's data is complete."""
    return S.dataset_ready(wildcards.bench)


def fetch_args(wildcards):
    return S.fetch_args(wildcards.bench)


def index_params(wildcards):
    return S.index_args(wildcards.bench)


def corrupt_settings(wildcards):
    return json.dumps(S.corrupt_settings(wildcards.k), sort_keys=True)


def corrupt_shards(wildcards):
    return S.shard_files(wildcards.src, wildcards.k)


def model_json(wildcards):
    return json.dumps(S.model_entry(wildcards.run), sort_keys=True)


def recipe_json(wildcards):
    return json.dumps(S.recipe_entry(wildcards.run), sort_keys=True)


def train_index(wildcards):
    return S.index_file(S.run(wildcards.run)["train_data"])


def predict_inputs(wildcards):
    return S.predict_inputs(wildcards.run, wildcards.bench)


def predict_flags(wildcards, input):
    return S.predict_flags(input, wildcards.bench)


def benchmark_json(wildcards):
    return json.dumps(S.benchmark_entry(wildcards.bench), sort_keys=True)


def metrics_inputs(wildcards):
    return S.metrics_inputs(wildcards.run, wildcards.bench)


def metrics_flags(wildcards, input):
    return S.metrics_flags(input)


def stats_json(wildcards):
    return json.dumps(S.stats_settings(), sort_keys=True)


def code_hash(*parts):
    """Source hash of shiftlab subpackages: re-run a rule when the code behind its numbers changes."""
    from shiftlab.workflow import code_hash as _code_hash

    return _code_hash(*parts)


def config_sha256():
    """Hash of the validated config, recorded beside every number in the summary."""
    return study_config.slice_sha256(config)


# `--device cuda` for a job given a GPU, so one that cannot use it stops at once.
job_device = J.device_param(config)


def train_nproc(wildcards, resources):
    """Processes for DDP: one per GPU the job asked for, at least one."""
    return max(1, int(resources.gpu))


def run_seed(wildcards):
    return S.run_seed(wildcards.run)
