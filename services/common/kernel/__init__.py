"""The kernel: the vocabulary every package may import (events, aggregates, errors, money, the clock,
ids, ratios, the district scope rule, field rules).

It imports no other layer of ``services.common``. A service's ``domain`` imports from here alone."""
