"""Benchmarks: one ``bench_<name>.py`` script per area; ``python -m bench`` runs them."""
