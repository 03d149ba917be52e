"""The runtime: processes and their plumbing (the nameko service base, runner, supervisor, health, the
outbox relay's process, dead letters, the re-keying command).

It may import every other layer; only services, tools and tests import it."""
