"""Transitional: sync helpers of a ``Connection`` callable from adapters still on
``AsyncConnection``.

Helpers that run inside the caller's transaction (``compare_and_set``, the usage
counters) are synchronous functions of a ``Connection`` for :class:`~filegate.adapters.sql.
database.Database` work functions. Until every adapter is converted, :func:`bridged` lets
the others keep awaiting them with an ``AsyncConnection`` (the call becomes one
``run_sync``). Delete this module, and the decorators, once none is left.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

P = ParamSpec("P")
T = TypeVar("T")


class bridged(Generic[P, T]):  # lower-case: used as a decorator of functions
    """A sync function of a ``Connection`` that, given an ``AsyncConnection``, returns an
    awaitable of the same result instead (run through ``AsyncConnection.run_sync``)."""

    def __init__(self, function: Callable[Concatenate[Connection, P], T]) -> None:
        self._function = function
        self.__doc__ = function.__doc__
        self.__name__ = function.__name__

    @overload
    def __call__(self, connection: Connection, /, *args: P.args, **kwargs: P.kwargs) -> T: ...
    @overload
    def __call__(
        self, connection: AsyncConnection, /, *args: P.args, **kwargs: P.kwargs
    ) -> Awaitable[T]: ...
    def __call__(self, connection: Any, /, *args: P.args, **kwargs: P.kwargs) -> Any:
        if isinstance(connection, AsyncConnection):
            return connection.run_sync(self._function, *args, **kwargs)
        return self._function(connection, *args, **kwargs)
