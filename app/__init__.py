"""dts control plane: configuration, storage, domain rules, services and the API."""

__version__ = "0.1.0"
