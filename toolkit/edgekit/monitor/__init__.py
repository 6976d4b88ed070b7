"""edgekit monitor: drift and silent accuracy decay per device population, from field
telemetry (docs/ARCHITECTURE.md, monitor).

    summary    the device summary (Python side of firmware/app/ek_summary.c)
    telemetry  the telemetry record: strict schema, bounded sizes
    store      the DuckDB store; ingest: files into it
    reference  the int8 model on the test split, summarised the same way (cached)
    simulate   fleet telemetry from scenarios (YAML, monitor/scenarios/)
    analysis   drift, label-free accuracy, change points, skew vs drift
    report     the report.json / report.html / junit section
"""
