"""The benchmark harness (`make bench`, `make bench-quick`); see ../shared/docs/BENCH.md."""
