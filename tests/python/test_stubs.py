"""The .pyi stubs describe exactly the public API: every exported name, every
public member of every class, with the same parameter names."""

import ast
import dataclasses
import inspect
import pathlib

import pytest

import tagindex

STUB = pathlib.Path(tagindex.__file__).with_name("__init__.pyi")
DUNDERS = {"__init__", "__len__", "__contains__", "__iter__", "__getitem__", "__and__",
           "__or__", "__sub__", "__xor__", "__eq__", "__hash__", "__bool__",
           "__enter__", "__exit__"}


def _stub_classes():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    classes = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    members.setdefault(item.name, item)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members[item.target.id] = item
            classes[node.name] = members
    names = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    names |= {t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
              for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
              if isinstance(t, ast.Name)}
    return classes, names


def test_stub_exists_and_py_typed_is_shipped():
    assert STUB.is_file()
    assert STUB.with_name("py.typed").is_file()


def test_every_exported_name_is_in_the_stub():
    _, names = _stub_classes()
    missing = [n for n in tagindex.__all__ if n not in names]
    assert not missing, f"names missing from __init__.pyi: {missing}"


def _runtime_members(cls):
    members = {n for n in vars(cls) if not n.startswith("_") or n in DUNDERS}
    if dataclasses.is_dataclass(cls):
        members |= {f.name for f in dataclasses.fields(cls)}
    return members


@pytest.mark.parametrize("name", [n for n in tagindex.__all__
                                  if isinstance(getattr(tagindex, n), type)
                                  and not issubclass(getattr(tagindex, n), Exception)])
def test_class_members_match_the_stub(name):
    classes, _ = _stub_classes()
    cls = getattr(tagindex, name)
    stub = classes[name]
    runtime = _runtime_members(cls)
    if dataclasses.is_dataclass(cls):
        runtime -= {"__eq__", "__hash__"}  # generated
    missing = sorted(runtime - set(stub))
    extra = sorted(set(stub) - runtime - {"__init__"})
    assert not missing, f"{name}: members missing from the stub: {missing}"
    assert not extra, f"{name}: stub members that do not exist: {extra}"
    for member, node in stub.items():
        if not isinstance(node, ast.FunctionDef) or member not in vars(cls):
            continue
        value = vars(cls)[member]
        if isinstance(value, property) or not callable(getattr(cls, member)):
            continue
        if isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        try:
            params = list(inspect.signature(value).parameters)
        except (TypeError, ValueError):
            continue
        stub_args = node.args
        stub_params = [a.arg for a in stub_args.posonlyargs + stub_args.args +
                       stub_args.kwonlyargs]
        if stub_args.vararg:
            stub_params.append(stub_args.vararg.arg)
        if stub_args.kwarg:
            stub_params.append(stub_args.kwarg.arg)
        runtime_params = [p for p in params]
        assert stub_params == runtime_params, f"{name}.{member}: stub {stub_params} vs " \
                                              f"runtime {runtime_params}"


def test_module_functions_match_the_stub():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    stubs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name in tagindex.__all__:
        value = getattr(tagindex, name)
        if isinstance(value, type):
            continue
        assert name in stubs, f"function {name} missing from the stub"
        args = stubs[name].args
        assert [a.arg for a in args.args + args.kwonlyargs] == \
            list(inspect.signature(value).parameters), name


def test_every_public_callable_has_a_docstring():
    undocumented = []
    for name in tagindex.__all__:
        cls = getattr(tagindex, name)
        if not cls.__doc__:
            undocumented.append(name)
        if not isinstance(cls, type):
            continue
        for member, value in vars(cls).items():
            if member.startswith("_") and member not in DUNDERS - {"__init__", "__eq__",
                                                                 "__hash__"}:
                continue
            if isinstance(value, (classmethod, staticmethod)):
                value = value.__func__
            if (callable(value) or isinstance(value, property)) and not value.__doc__:
                undocumented.append(f"{name}.{member}")
    assert not undocumented, f"missing docstrings: {undocumented}"
