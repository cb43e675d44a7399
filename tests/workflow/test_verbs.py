"""The `shiftlab` command lists one verb per workflow rule, and every verb has help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from shiftlab.cli import VERBS

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_verb():
    out = subprocess.run(
        [sys.executable, "-m", "shiftlab.cli", "--help"], capture_output=True, text=True, check=True
    )
    for verb in VERBS:
        assert verb in out.stdout, verb
        sub = subprocess.run(
            [sys.executable, "-m", "shiftlab.cli", verb, "--help"], capture_output=True, text=True
        )
        assert sub.returncode == 0 and "usage:" in sub.stdout, (verb, sub.stderr)


def test_every_rule_calls_one_shiftlab_verb():
    rules = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    for body in re.findall(r"^rule (\w+):(.*?)(?=^rule |\Z)", rules, flags=re.S | re.M):
        name, text = body
        shell = re.search(r'shell:\s*\n((?:\s+".*"\n?)+)', text)
        assert shell, f"rule {name} has no shell command"
        command = "".join(re.findall(r'"(.*)"', shell.group(1)))
        assert command.startswith("shiftlab "), f"rule {name}: {command[:60]}"
        assert command.count("shiftlab ") == 1, f"rule {name} calls more than one verb"
        assert command.split()[1] in VERBS, f"rule {name} calls an unknown verb"


def test_rule_names_match_their_verb_and_log_folder():
    """rule = verb = log folder: `corrupt_shard`/`corrupt_merge` are the one documented
    exception (one `corrupt` verb, told apart by `--shard`)."""
    rules = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    seen = set()
    for name, text in re.findall(r"^rule (\w+):(.*?)(?=^rule |\Z)", rules, flags=re.S | re.M):
        command = "".join(re.findall(r'"(.*)"', re.search(r"shell:(.*)", text, re.S).group(1)))
        verb = command.split()[1]
        expected = "corrupt" if name.startswith("corrupt_") else name.replace("_", "-")
        assert verb == expected, f"rule {name} calls `shiftlab {verb}`"
        log = re.search(r'log:\s*\n\s+f?"([^"]+)"', text)
        assert log and f"{{LOGS}}/{name}/" in log.group(1), f"rule {name} logs to {log}"
        seen.add(name)
    assert {"index", "train", "predict", "metrics", "aggregate", "report"} <= seen
