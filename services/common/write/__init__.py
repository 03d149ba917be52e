"""The write side: the event store (streams, snapshots, outbox, idempotency), command deadlines and the
form of a published event.

It imports the kernel and the base. A service's commands and the runtime import it; the read side does not."""
