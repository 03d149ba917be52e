"""The benchmarks (``make bench``: ``python -m tests.load.bench``).

Every bench module runs as ``python -m tests.load.<module>`` (each section of ``make bench`` in a process of its
own, started the same way), so this package is imported first, before nameko: eventlet's notice that it is
deprecated, which it prints when nameko imports it, is silenced here (as ``pyproject.toml`` silences it for the
tests), so that the bench's output holds its figures only. The platform's processes write to their log files.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
