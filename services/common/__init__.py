"""Code every service shares, by role: ``kernel`` (the vocabulary), ``base`` (settings, logs, metrics,
databases, contracts), ``write`` (the event store), ``read`` (projections) and ``runtime`` (processes).
Each subpackage's docstring says what may import it."""
