"""Tasks see the endpoint only as a ``TaskContext`` (core/ike/context.py).

Checked from the source (no mypy run needed): nothing outside endpoint.py touches an
``ep._private``; every ``ep`` parameter of the tasks, the task manager and the SA objects
is annotated ``TaskContext``; the Protocol lists exactly the members those functions use;
IkeEndpoint has each member with the same parameters; the shells' API is unchanged; and
a task runs against a stand-in context that is not an endpoint at all.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from ipsecsim.core.ike import context, endpoint
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.ike.endpoint import IkeEndpoint
from ipsecsim.core.ike.events import Event
from ipsecsim.core.ike.tasks import informational
from ipsecsim.core.natt import KEEPALIVE
from ipsecsim.core.rng import Rng

IKE = Path(endpoint.__file__).parent
TASK_SIDE = [*sorted((IKE / "tasks").glob("*.py")), IKE / "taskmanager.py", IKE / "ikesa.py",
             IKE / "fragments.py", IKE / "cp.py"]
"""Modules whose functions get the endpoint as ``ep`` while a task runs."""

SHELL_API = ["start", "initiate", "acquire", "receive_datagram", "datagrams_to_send", "get_timer",
             "handle_timer", "next_event", "close", "sa_limit_reached", "note_inbound",
             "rekey_child", "rekey_ike", "delete_child", "delete_ike", "established", "children"]
"""What the sim and peer shells (and core/node.py) call; ``ike_sas``, ``drops`` and
``config`` are the attributes they read."""


def _functions(path: Path) -> list[ast.FunctionDef]:
    return [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)]


def _ep_param(fn: ast.FunctionDef) -> ast.arg | None:
    return next((a for a in fn.args.args if a.arg == "ep"), None)


def _uses_of_ep(fn: ast.FunctionDef) -> set[str]:
    return {n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "ep"}


def _protocol_members(cls: type) -> set[str]:
    return {n for n, v in vars(cls).items()
            if not n.startswith("_") and (callable(v) or isinstance(v, property))}


@pytest.mark.parametrize("path", sorted(IKE.rglob("*.py")), ids=lambda p: p.name)
def test_no_endpoint_privates_outside_the_endpoint(path: Path) -> None:
    if path.name == "endpoint.py":
        return
    tree = ast.parse(path.read_text())
    bad = [f"{path.name}:{n.lineno} ep.{n.attr}" for n in ast.walk(tree)
           if isinstance(n, ast.Attribute) and n.attr.startswith("_")
           and (isinstance(n.value, ast.Name) and n.value.id == "ep"
                or isinstance(n.value, ast.Attribute) and n.value.attr == "ep")]
    assert not bad


@pytest.mark.parametrize("path", TASK_SIDE, ids=lambda p: p.name)
def test_tasks_annotate_ep_with_the_protocol(path: Path) -> None:
    for fn in _functions(path):
        arg = _ep_param(fn)
        if arg is None:
            continue
        ann = ast.unparse(arg.annotation) if arg.annotation is not None else None
        # fragments.receive runs on the endpoint's receive path, not in a task
        allowed = {"TaskContext", "IkeEndpoint"} if fn.name == "receive" else {"TaskContext"}
        assert ann in allowed, f"{path.name}:{fn.lineno} {fn.name}(ep: {ann})"


def test_protocol_lists_exactly_what_tasks_use() -> None:
    used: set[str] = set()
    for path in TASK_SIDE:
        for fn in _functions(path):
            arg = _ep_param(fn)
            if arg is not None and arg.annotation is not None \
                    and ast.unparse(arg.annotation) == "TaskContext":
                used |= _uses_of_ep(fn)
    assert used == _protocol_members(context.TaskContext)


def test_the_endpoint_implements_every_member_with_its_parameters() -> None:
    ep = IkeEndpoint(IkeConfig.from_dict({"connections": {}}), Rng(1))
    for name in _protocol_members(context.TaskContext):
        proto = getattr(context.TaskContext, name)
        assert hasattr(ep, name), name
        if isinstance(proto, property):
            assert not callable(getattr(ep, name)), name
            continue
        want = list(inspect.signature(proto).parameters.values())[1:]  # without self
        got = list(inspect.signature(getattr(ep, name)).parameters.values())
        assert [(p.name, p.kind, p.default) for p in got] == \
               [(p.name, p.kind, p.default) for p in want], name


def test_shell_api_unchanged() -> None:
    for name in SHELL_API:
        assert callable(getattr(IkeEndpoint, name)), name
    ep = IkeEndpoint(IkeConfig.from_dict({"connections": {}}), Rng(1))
    assert ep.ike_sas == {} and not ep.drops and isinstance(ep.config, IkeConfig)


class _Recorder:
    """A TaskContext that is no endpoint: records what a task sends."""

    def __init__(self) -> None:
        self.config = IkeConfig.from_dict({"connections": {}})
        self.rng = Rng(7)
        self.ike_sas: dict = {}
        self.sent: list[tuple[bytes, tuple[str, int], tuple[str, int]]] = []
        self.events: list[Event] = []

    def send_datagram(self, data: bytes, src: tuple[str, int], dst: tuple[str, int]) -> None:
        self.sent.append((data, src, dst))

    def emit(self, event: Event) -> None:
        self.events.append(event)


def test_a_task_runs_on_a_stand_in_context() -> None:
    """informational.timers sends a NAT keepalive through ``send_datagram`` only."""
    from ipsecsim.core.ike.ikesa import IkeSa

    conn = IkeConfig.from_dict({"connections": {"c": {"remote_addrs": ["192.0.2.2"]}}}
                               ).connection("c")
    sa = IkeSa("c[1]", conn, True, bytes(8), bytes(8), ("198.51.100.1", 4500),
               ("192.0.2.2", 4500))
    sa.keepalive_at = 10.0
    ctx = _Recorder()
    informational.timers(ctx, sa, 10.0)  # type: ignore[arg-type]  (a partial stand-in)
    assert ctx.sent == [(KEEPALIVE, ("198.51.100.1", 4500), ("192.0.2.2", 4500))]
    assert sa.keepalive_at == 10.0 + ctx.config.nat_keepalive
