"""The runtime: processes and their plumbing (the nameko service base, runner, supervisor, health, the
outbox relay's process, dead letters).

It may import every other layer; only services, tools and tests import it."""
