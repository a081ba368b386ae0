"""Optional dependencies: :func:`import_extra` imports one or names the install line that
brings it (the single place sentvec turns a missing package into a user error)."""

from __future__ import annotations

import importlib
from types import ModuleType

from sentvec.errors import MissingExtraError


def import_extra(module: str, extra: str, package: str | None = None) -> ModuleType:
    """Import ``module``, or say which extra installs it.

    :param module: the dotted module name, e.g. ``"sklearn.cluster"``.
    :param extra: the sentvec extra that installs it, e.g. ``"apps"``.
    :param package: its name on PyPI when that differs from the module's top level
        (``scikit-learn`` for ``sklearn``).
    :return: the module.
    :raises MissingExtraError: naming the package and ``pip install 'sentvec[EXTRA]'``; when
        the package is installed but one of its own dependencies is missing or broken, the
        message quotes that import error too.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        missing = getattr(e, "name", None)
        cause = None if missing and missing.split(".")[0] == top else str(e).splitlines()[0]
        raise MissingExtraError(package or top, extra, cause) from None


__all__ = ["import_extra"]
