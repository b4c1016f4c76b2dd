"""A tiny typed registry: ``register(name)``, ``get(name)``, ``names()``.

Registries are filled explicitly by the package modules that own the entries (see
``semiseg.methods`` and ``semiseg.nets``), never by crawling folders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from semiseg.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object mapping whose lookups fail with the list of valid names.

    Args:
        kind: What the registry holds, used in error messages ("method", "network").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers ``obj`` under ``name`` (duplicates are an error)."""

        def decorator(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        """Return the entry called ``name``.

        Raises:
            ConfigError: ``name`` is unknown; the message lists the valid names.
        """
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(sorted(self._entries)) or "(none)"
            raise ConfigError(f"unknown {self.kind} {name!r}; valid: {valid}") from None

    def names(self) -> list[str]:
        """Sorted names of all entries."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries
