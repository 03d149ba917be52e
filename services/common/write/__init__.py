"""The write side: the event store (streams, snapshots, outbox, idempotency), command deadlines, the
form of a published event and the re-keying of clear personal values stored before sealing.

It imports the kernel and the base. A service's commands and the runtime import it; the read side does not."""
