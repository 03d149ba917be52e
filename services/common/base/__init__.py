"""The base: the plumbing the write and the read side both stand on (settings, logs, metrics, database
engines and migrations, event contracts, the personal-data key store).

It imports the kernel only."""
