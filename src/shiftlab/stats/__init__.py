"""Statistics over a study's predictions: paired tests, multiple-comparison correction,
bootstrap intervals, the seed studies' t-tests and effective robustness.

Every function takes plain arrays or tidy frames so it can be checked against scipy
without the workflow.
"""
