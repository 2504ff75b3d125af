"""Reference programs the benchmarks measure dts against (raw HTTP clients, Procrastinate)."""
