"""Read-side queries of the API's hot paths: one database round trip each, compiled once.

Automation polls the same few endpoints (render a draft, simulate against it, authenticate a
token) many times a second. Each of them needs a handful of columns from a few joined tables,
and building and compiling an ORM query costs ten times more than running it. So each query
here is written once as an ordinary queryset, compiled to SQL by the ORM the first time it
runs on a database connection, and then re-run with the new lookup value as its only parameter.
No SQL is written by hand, nothing is cached but the statement: every call reads current rows,
so a revoked token, a deactivated user or an edited draft shows on the very next request.

The row-to-value code below only sees text, integers and booleans (a JSON column is selected as
text, a boolean goes through ``bool``), which every database driver returns alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from rest_framework.authtoken.models import Token

from policies.core.gateway import GatewayDescription, GatewayPort
from policies.models import EgressGateway, EgressPolicy

TEXT_PLACEHOLDER = "\x00lookup\x00"
ID_PLACEHOLDER = -(2**62) + 7
LARGEST_ID = 2**63 - 1
GATEWAY_COLUMNS = ("name", "namespace", "mtls", "ports__name", "ports__number", "ports__protocol")
# NB: in the user model's field order, which is the order ``Model.from_db`` expects values in.
USER_COLUMNS = ("id", "is_superuser", "username", "is_staff", "is_active")
USER_FLAGS = tuple(index for index, column in enumerate(USER_COLUMNS) if column.startswith("is_"))


class CompiledQuery:
    """A one-parameter queryset, compiled to SQL once per database and re-run with new values.

    ``build(value)`` returns the queryset for a lookup value; it is called once with
    ``placeholder`` (a value of the lookup's type no real lookup uses) to find where in the SQL
    parameters the value goes.
    """

    def __init__(self, build: Callable[[Any], QuerySet], placeholder: Any) -> None:
        self.build = build
        self.placeholder = placeholder
        self.statements: dict[tuple[str, str], tuple[str, list[Any], int]] = {}

    def rows(self, value: Any, using: str = DEFAULT_DB_ALIAS) -> list[tuple[Any, ...]]:
        """Every row the queryset returns for ``value``, as plain tuples."""
        connection = connections[using]
        sql, params, slot = self.statement(connection)
        params = [*params[:slot], value, *params[slot + 1 :]]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def statement(self, connection: Any) -> tuple[str, list[Any], int]:
        """The SQL, its parameters and the index of the lookup value (compiled on first use)."""
        key = (connection.alias, connection.vendor)
        if key not in self.statements:
            compiler = self.build(self.placeholder).query.get_compiler(connection=connection)
            sql, params = compiler.as_sql()
            # NB: exactly one parameter must be the placeholder, or values would land in the wrong slot.
            [slot] = [index for index, param in enumerate(params) if param == self.placeholder]
            self.statements[key] = (sql, list(params), slot)
        return self.statements[key]


@dataclass(frozen=True)
class DraftSnapshot:
    """What rendering and simulating a policy need: its draft as stored and its gateway."""

    policy_id: int
    name: str
    version: int
    document_json: str
    gateway: GatewayDescription


def _draft_query(policy_id: Any) -> QuerySet:
    # NB: one row per gateway port (LEFT JOIN), so policy, draft, gateway and ports come in one trip.
    return (
        EgressPolicy.objects.filter(pk=policy_id)
        .order_by()
        .values_list(
            "id",
            "name",
            "draft__version",
            Cast("draft__document", TextField()),
            *(f"gateway__{column}" for column in GATEWAY_COLUMNS),
        )
    )


def _gateway_query(name: Any) -> QuerySet:
    return EgressGateway.objects.filter(name=name).order_by().values_list(*GATEWAY_COLUMNS)


def _token_user_query(key: Any) -> QuerySet:
    return Token.objects.filter(key=key).order_by().values_list(*(f"user__{column}" for column in USER_COLUMNS))


DRAFT_QUERY = CompiledQuery(_draft_query, ID_PLACEHOLDER)
GATEWAY_QUERY = CompiledQuery(_gateway_query, TEXT_PLACEHOLDER)
TOKEN_USER_QUERY = CompiledQuery(_token_user_query, TEXT_PLACEHOLDER)


def draft_snapshot(policy_id: int | str) -> DraftSnapshot | None:
    """The policy's current draft (document as stored JSON text) and gateway, or None.

    ``policy_id`` may come straight from a URL: anything but a positive 64-bit integer is None.
    """
    key = _as_id(policy_id)
    rows = DRAFT_QUERY.rows(key) if key is not None else []
    if not rows or rows[0][2] is None:
        return None
    row_id, name, version, document_json = rows[0][:4]
    return DraftSnapshot(row_id, name, version, document_json, _gateway_from_rows(tuple(row[4:] for row in rows)))


def _as_id(value: int | str) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= LARGEST_ID else None


def gateway_description(name: str) -> GatewayDescription | None:
    """The core's description of the gateway called ``name``, or None when there is none."""
    rows = GATEWAY_QUERY.rows(name)
    return _gateway_from_rows(tuple(rows)) if rows else None


@lru_cache(maxsize=64)
def _gateway_from_rows(rows: tuple[tuple[Any, ...], ...]) -> GatewayDescription:
    """A gateway from (name, namespace, mtls, port name, number, protocol) rows, one per port.

    Memoised by the rows themselves (the description is immutable): equal rows, equal gateway.
    """
    name, namespace, mtls = rows[0][:3]
    ports = sorted((number, port_name, protocol) for _, _, _, port_name, number, protocol in rows if number is not None)
    return GatewayDescription(
        name=name,
        namespace=namespace,
        mtls=bool(mtls),
        ports=tuple(
            GatewayPort(name=port_name, number=number, protocol=protocol) for number, port_name, protocol in ports
        ),
    )


def token_user(key: str) -> Any | None:
    """The user a token belongs to, active or not (None for an unknown token).

    Only the columns authentication and permission checks read are loaded; any other field is
    fetched on first access, like an ORM ``only()``.
    """
    rows = TOKEN_USER_QUERY.rows(key)
    if not rows:
        return None
    values = [bool(value) if index in USER_FLAGS else value for index, value in enumerate(rows[0])]
    return _user_model().from_db(DEFAULT_DB_ALIAS, list(USER_COLUMNS), values)


@lru_cache(maxsize=1)
def _user_model() -> Any:
    """The user model class; the setting cannot change while the process runs."""
    return get_user_model()
