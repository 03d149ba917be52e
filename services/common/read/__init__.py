"""The read side: projections (the projector, its reader process, positions, seen event ids, freshness),
the Kafka plumbing they follow and the district inbound consumer.

It imports the kernel and the base. A service's read models and the runtime import it; the write side
does not."""
