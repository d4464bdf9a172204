"""One registry shape for every kind of plugin: feature extractors, corpus readers and training losses.

A :class:`Registry` maps a name to an entry. An entry may be given as a ``"module:attribute"`` string,
imported only when the entry is first asked for, so a registry can be listed (and the workflow can plan)
in an environment that lacks the entry's libraries. A plugin registers its entries when its module is
imported: :func:`load_plugins` imports the modules named under ``plugins:`` in config.yaml.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from multiemo.settings import ConfigError, resolve

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one kind by name, in registration order.

    Args:
        kind: what an entry is, for messages (``"feature extractor"``, ``"corpus reader"``, ``"loss"``).
        setting: where a user names an entry (``"modalities:"``, ``"reader:"``, ``"train.losses"``).
    """

    def __init__(self, kind: str, *, setting: str) -> None:
        self.kind = kind
        self.setting = setting
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, entry: T | str, *, replace: bool = False) -> T | str:
        """Add ``entry`` (or its ``"module:attribute"``) as ``name``; ``replace=True`` swaps an existing one.

        Raises:
            ValueError: ``name`` is taken and ``replace`` is false.
        """
        if name in self._entries and not replace:
            raise ValueError(f"a {self.kind} named {name!r} is already registered "
                             "(pass replace=True to swap it)")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove ``name``'s entry if there is one (tests register toy entries and take them away again)."""
        self._entries.pop(name, None)

    def __getitem__(self, name: str) -> T:
        """The entry of ``name``, imported on first use.

        Raises:
            ConfigError: no entry of that name, naming those that exist and how a plugin adds one.
        """
        if name not in self._entries:
            raise ConfigError(
                f"unknown {self.kind} {name!r} ({self.setting}); known: {list(self._entries)} "
                "(a plugin's entries are registered when its module is imported: list it under plugins:)"
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._entries[name] = resolve(entry)
        return entry

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> tuple[str, ...]:
        """Registered names, in registration order (built-ins first)."""
        return tuple(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """``(name, entry)`` pairs, every entry imported."""
        return [(name, self[name]) for name in self._entries]


def load_plugins(modules: Iterable[str] | None) -> None:
    """Import each named module; a plugin registers its extractors, readers or losses when imported.

    Raises:
        ImportError: naming the module and what to do.
    """
    for name in modules or ():
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ImportError(f"plugin module {name!r} cannot be imported ({err}); install it or put it on "
                              "PYTHONPATH, or remove it from plugins:") from err
