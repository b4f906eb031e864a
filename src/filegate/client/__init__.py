"""The SDK under its historic name: ``filegate.client`` re-exports ``filegate_client``.

The SDK ships as its own distribution (``filegate-client``, package ``filegate_client``,
httpx only); the server depends on it and keeps this name so that ``from filegate.client
import Client`` goes on working. Only the public names are re-exported here; import private
modules from ``filegate_client`` itself.
"""

from filegate_client import *  # noqa: F403 (the SDK's public names, by its __all__)
from filegate_client import __all__ as __all__
