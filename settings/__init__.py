"""Typed, validated environment settings: the one source of every name and threshold.

Importing this package reads nothing and has no side effects; `load_platform()` reads the
three envs' settings.toml files.
"""

from settings.agents import (
    AGENT_DATA_SOURCE_APIS,
    AGENT_EMAIL_BY_API,
    AGENT_NAMES,
    BOOTSTRAP_AGENT_APIS,
    ENCRYPTER_DECRYPTER,
    SERVICE_AGENTS,
    key_users,
    logging_writer_email,
    service_agent_email,
)
from settings.files import (
    ENV_NAMES,
    ENVS_DIR,
    REPO_ROOT,
    load_platform,
    load_prices,
    load_settings,
)
from settings.model import (
    AlertSettings,
    AutoMLSettings,
    Bars,
    CanaryCriteria,
    MonitoringSettings,
    PipelineSettings,
    Platform,
    Prices,
    Rollout,
    ServingSettings,
    Settings,
)
from settings.tenants import LOCAL_SERVING_IMAGE, Tenants, tenants_for

__all__ = [
    "AGENT_DATA_SOURCE_APIS",
    "AGENT_EMAIL_BY_API",
    "AGENT_NAMES",
    "BOOTSTRAP_AGENT_APIS",
    "ENCRYPTER_DECRYPTER",
    "ENVS_DIR",
    "ENV_NAMES",
    "LOCAL_SERVING_IMAGE",
    "REPO_ROOT",
    "SERVICE_AGENTS",
    "AlertSettings",
    "AutoMLSettings",
    "Bars",
    "CanaryCriteria",
    "MonitoringSettings",
    "PipelineSettings",
    "Platform",
    "Prices",
    "Rollout",
    "ServingSettings",
    "Settings",
    "Tenants",
    "key_users",
    "load_platform",
    "load_prices",
    "load_settings",
    "logging_writer_email",
    "service_agent_email",
    "tenants_for",
]
