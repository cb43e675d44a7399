"""The study report: figures from summary.csv and stats/*.csv, and one self-contained
report.html in which every number links to its provenance."""
