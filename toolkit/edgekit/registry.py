"""One registry for things that come in kinds (runtime backends, device kinds): members are
classes registered by a decorator, the built-in ones are modules imported on first use, and
third-party packages add theirs through an entry-point group. See docs/ARCHITECTURE.md,
"How to add"."""

from __future__ import annotations

import importlib
from typing import Callable, Generic, Type, TypeVar

from edgekit.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str, entry_point_group: str, package: str, builtin: tuple[str, ...]):
        self.what = what                        # "runtime backend", "device kind"
        self.entry_point_group = entry_point_group
        self.package = package                  # where the built-in modules are
        self.builtin = builtin                  # their module names: one line per member
        self.members: dict[str, T] = {}
        self.loaded = False

    def register(self, cls: Type[T]) -> Type[T]:
        """Class decorator: an instance of `cls` becomes the member named `cls.name`."""
        name = getattr(cls, "name", None)
        if not name:
            raise TypeError(f"{cls.__qualname__}: a {self.what} needs a class attribute 'name'")
        other = self.members.get(name)
        if other is not None and type(other) is not cls:
            raise TypeError(f"{self.what} '{name}' registered twice ({type(other).__qualname__}, {cls.__qualname__})")
        self.members[name] = cls()
        return cls

    def load(self) -> dict[str, T]:
        """Import the built-in modules and the entry points once; they register themselves."""
        if not self.loaded:
            self.loaded = True
            for mod in self.builtin:
                importlib.import_module(f"{self.package}.{mod}")
            from importlib.metadata import entry_points

            for ep in entry_points(group=self.entry_point_group):
                try:
                    ep.load()
                except Exception as exc:  # a broken plugin: one line naming it, not a traceback
                    raise UserError(f"entry point {ep.name} = {ep.value} (group {self.entry_point_group}): cannot "
                                    f"be imported ({type(exc).__name__}: {exc}); fix or uninstall that package") from None
        return self.members

    def names(self) -> list[str]:
        return sorted(self.load())

    def get(self, name: str, error: Callable[[str], str]) -> T:
        try:
            return self.load()[name]
        except KeyError:
            raise UserError(error(", ".join(self.names()))) from None
