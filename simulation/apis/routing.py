"""Route modules: an API is a class whose methods answer calls; `@route` names each one's
HTTP verb, path and Google method, and `register` puts them on the Simulation in the order
the class defines them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[..., Any]


def route(verb: str, pattern: str, method: str) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        handler.route = (verb, pattern, method)  # type: ignore[attr-defined]
        return handler

    return mark


def register(sim: Any, service: str, api: object) -> None:
    for name, member in type(api).__dict__.items():
        spec = getattr(member, "route", None)
        if spec is not None:
            verb, pattern, method = spec
            sim.route(service, verb, pattern, method)(getattr(api, name))
