"""deploytrail: production deployments made visible and auditable, for TeamCity pipelines.

Heavy modules are not imported here, so ``deploytrail --help`` starts fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
