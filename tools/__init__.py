"""Tools around the platform, outside its services: the reference district client (``tools.district_client``)
and the AsyncAPI generator (``tools.asyncapi``); run them from the repository root with ``python -m tools.<name>``."""
