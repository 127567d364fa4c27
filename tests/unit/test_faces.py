"""Each feature's `__init__.py` is its face: what other packages may use of it, and never a store."""

from __future__ import annotations

import dataclasses
import enum
import importlib
from types import ModuleType, SimpleNamespace

import pytest

FEATURES = ("agents", "cti", "customers", "ivr", "knowledge_base", "tickets")


def stores_on(face: ModuleType) -> list[str]:
    """The names a face exports that would let its user reach the feature's data past its services.

    A store is a class named `*Store`, or anything else from a store module but plain data (a
    dataclass, an enum, a number or text: the shapes and limits of its queries and rows).
    """
    found = []
    for name in face.__all__:
        value = getattr(face, name)
        module = getattr(value, "__module__", None) or ""
        if isinstance(value, ModuleType):
            found.append(f"{name} (a module)")
        elif isinstance(value, type) and name.endswith("Store"):
            found.append(f"{name} (a store)")
        elif module.rsplit(".", 1)[-1].endswith("store") and not (
            dataclasses.is_dataclass(value) or (isinstance(value, type) and issubclass(value, enum.Enum))
        ):
            found.append(f"{name} (from {module})")
    return found


@pytest.mark.parametrize("feature", FEATURES)
def test_a_face_names_what_it_hands_on_and_no_store(feature: str) -> None:
    face = importlib.import_module(feature)
    assert face.__doc__
    assert face.__all__, f"{feature}/__init__.py hands nothing on"
    assert all(hasattr(face, name) for name in face.__all__)
    assert stores_on(face) == []


def test_a_store_on_a_face_is_found() -> None:
    class CustomerStore:
        pass

    def fetch_rows() -> None:
        pass

    @dataclasses.dataclass
    class TicketQuery:
        text: str

    fetch_rows.__module__ = TicketQuery.__module__ = "tickets.store"
    face = SimpleNamespace(
        __all__=["CustomerStore", "fetch_rows", "TicketQuery", "MAX_PAGE", "store"],
        CustomerStore=CustomerStore,
        fetch_rows=fetch_rows,
        TicketQuery=TicketQuery,
        MAX_PAGE=100,
        store=dataclasses,
    )
    assert stores_on(face) == [  # type: ignore[arg-type]
        "CustomerStore (a store)",
        "fetch_rows (from tickets.store)",
        "store (a module)",
    ]
