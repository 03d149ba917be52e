"""The base: the plumbing the write and the read side both stand on (settings, logs, metrics, database
engines and migrations, statements run on the driver, event contracts, the personal-data key store).

It imports the kernel only."""
