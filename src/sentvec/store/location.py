"""Where collections live: the user's sentvec folder, a LanceDB folder or a PostgreSQL URI."""

from __future__ import annotations

import os
from pathlib import Path


def sentvec_home() -> Path:
    """The user's sentvec folder: ``$SENTVEC_HOME``, else ``~/.cache/sentvec``."""
    env = os.environ.get("SENTVEC_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sentvec"


def default_root() -> Path:
    """Where named collections live by default: ``sentvec_home()/collections``."""
    return sentvec_home() / "collections"


def is_postgres(location: str | Path) -> bool:
    """True when ``location`` is a PostgreSQL URI (``postgresql://`` or ``postgres://``)."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


__all__ = ["default_root", "is_postgres", "sentvec_home"]
