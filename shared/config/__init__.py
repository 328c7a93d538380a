"""Configuration: `Settings` from the environment, and the `Policies` the rules run under, loaded from them once."""

from shared.config.policies import Policies
from shared.config.settings import Settings, settings

__all__ = ["Policies", "Settings", "settings"]
