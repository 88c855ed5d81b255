"""The load benchmark's parts (bench/run.py is the entry point): settings, processes, wrk,
the cases, callgrind instruction counts, statistics and the report."""
