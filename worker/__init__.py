"""dts execution plane: scheduler tick, claiming with leases, executors, recovery."""
