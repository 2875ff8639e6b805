"""Reading envs/<env>/settings.toml: every problem names the file and the field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from kernel.errors import UserError, explain
from settings.model import Platform, Prices, Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVS_DIR = REPO_ROOT / "envs"
ENV_NAMES: tuple[str, ...] = ("dev", "staging", "prod")
SETTINGS_FILE = "settings.toml"
PRICES_FILE = "prices.toml"
T = TypeVar("T", bound=BaseModel)


def settings_path(env: str, envs_dir: Path = ENVS_DIR) -> Path:
    return envs_dir / env / SETTINGS_FILE


def load_settings(env: str, envs_dir: Path = ENVS_DIR) -> Settings:
    if env not in ENV_NAMES:
        raise UserError(f"unknown env {env!r}; expected one of {', '.join(ENV_NAMES)}")
    path = settings_path(env, envs_dir)
    settings = _read(path, Settings, "settings file")
    if settings.env != env:
        raise UserError(f"{path}: env: says {settings.env!r} but the file is in envs/{env}/")
    return settings


def load_platform(envs_dir: Path = ENVS_DIR) -> Platform:
    envs = {env: load_settings(env, envs_dir) for env in ENV_NAMES}
    try:
        return Platform(envs=envs)
    except ValidationError as exc:
        raise UserError(f"{envs_dir}: {explain(exc)}") from None


def load_prices(envs_dir: Path = ENVS_DIR) -> Prices:
    """envs/prices.toml: the price table of the cost estimates."""
    return _read(envs_dir / PRICES_FILE, Prices, "price table")


def _read(path: Path, model: type[T], what: str) -> T:
    """A TOML file as `model`; every problem names the file (and the field)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: a folder stands where the {what} should be") from None
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path}: not UTF-8 (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "TOML files are UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:  # tomllib recurses into nested arrays and tables
        raise UserError(f"{path}: nested too deeply to be a {what}") from None
    except OSError as exc:
        raise UserError(f"{path}: {what} cannot be read ({exc.strerror})") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise UserError(f"{path}: {explain(exc)}") from None
