"""The thin link started from the last one's trace equals the link from
scratch, over random programs and random edit sequences: modules edited,
added and removed, locals, comdat groups, duplicate and weak definitions,
calls across all of them."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from thinwatch.engine.fragment import promoted_name
from thinwatch.engine.summary import FunctionSummary, ModuleSummary
from thinwatch.engine.thinlink import thin_link

NAMES = [f"f{i}" for i in range(12)]
LINKAGES = ["external", "external", "internal", "private", "linkonce_odr", "weak_odr", "weak",
            "available_externally", "common"]


def module(rng: random.Random, mid: str, mids: list[str]) -> ModuleSummary:
    def callee() -> str:
        name = rng.choice(NAMES)
        return promoted_name(name, rng.choice(mids)) if rng.random() < 0.2 else name

    functions = {}
    for name in rng.sample(NAMES, rng.randint(1, 6)):
        functions[name] = FunctionSummary(
            linkage=rng.choice(LINKAGES[:-1]), visibility="default", insts=rng.choice([5, 40, 80, 150]),
            callees=[callee() for _ in range(rng.randint(0, 4))],
            hash=None if rng.random() < 0.15 else f"h{rng.randint(0, 3)}",
            promote=[promoted_name(n, mid) for n in rng.sample(NAMES, rng.randint(0, 2))],
            deps=[callee() for _ in range(rng.randint(0, 2))])
    variables = {f"v{i}": rng.choice(LINKAGES) for i in rng.sample(range(4), rng.randint(0, 2))}
    defined = [*functions, *variables]
    comdats = {name: f"g{rng.randint(0, 2)}" for name in defined if rng.random() < 0.3}
    refs = {name: [callee() for _ in range(rng.randint(1, 2))] for name in defined if rng.random() < 0.3}
    return ModuleSummary(module_id=mid, triple="x86_64-unknown-linux-gnu", functions=functions, variables=variables,
                         undefined=[callee() for _ in range(rng.randint(0, 3))],
                         preserved=[n for n in defined if rng.random() < 0.1], comdats=comdats, refs=refs)


def body_edit(rng: random.Random, s: ModuleSummary) -> ModuleSummary:
    """The module with new sizes and fragments, its functions the same,
    calling and referencing what they did but for one call at times."""
    functions = {name: dataclasses.replace(f, insts=rng.choice([5, 40, 80, 150]),
                                           hash=None if rng.random() < 0.15 else f"h{rng.randint(0, 3)}")
                 for name, f in s.functions.items()}
    if rng.random() < 0.3:
        name = rng.choice(sorted(functions))
        functions[name].callees = [rng.choice(NAMES)] + functions[name].callees[1:]
    return dataclasses.replace(s, functions=functions)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 8))
def test_a_link_from_the_last_trace_equals_one_from_scratch(seed, steps):
    rng = random.Random(seed)
    mids = [f"m{i}" for i in range(rng.randint(2, 7))]
    summaries = {mid: module(rng, mid, mids) for mid in mids}
    versions = dict.fromkeys(mids, 0)
    serial = 0                  # a version is never given again, as emission keys are not
    preserve = {"f0"}
    _, trace = thin_link(summaries, preserve, dict(versions))
    for _ in range(steps):
        for _ in range(rng.randint(1, 2)):
            mid = rng.choice(mids + ["m9"])
            if mid in summaries and rng.random() < 0.15 and len(summaries) > 1:
                del summaries[mid], versions[mid]
            elif mid in summaries and rng.random() < 0.3:       # an edit inside function bodies
                summaries[mid] = body_edit(rng, summaries[mid])
                serial += 1
                versions[mid] = serial
            else:
                summaries[mid] = module(rng, mid, mids)
                serial += 1
                versions[mid] = serial
        if rng.random() < 0.2:
            preserve = {rng.choice(NAMES)}
        # A module whose version says nothing is always looked at afresh.
        given_versions = {mid: (None if rng.random() < 0.1 else v) for mid, v in versions.items()}
        plans, trace = thin_link(summaries, preserve, given_versions, trace)
        assert plans == thin_link(summaries, preserve)[0]


def test_an_edit_walks_again_only_the_modules_that_resolved_its_names():
    def leaf(insts: int) -> FunctionSummary:
        return FunctionSummary("external", "default", insts, [], f"h{insts}")

    def summaries(n: int) -> dict[str, ModuleSummary]:
        return {"a": ModuleSummary("a", "t", {"main": FunctionSummary("external", "default", 9, ["g"], "ha")}),
                "b": ModuleSummary("b", "t", {"g": leaf(n)}),
                "c": ModuleSummary("c", "t", {"other": leaf(n)})}

    _, first = thin_link(summaries(1), {"main"}, {"a": 1, "b": 1, "c": 1})
    plans, second = thin_link(summaries(2), {"main"}, {"a": 1, "b": 1, "c": 2}, first)
    assert second.imports["a"] is first.imports["a"] and second.imports["c"] is not first.imports["c"]
    plans, third = thin_link(summaries(3), {"main"}, {"a": 1, "b": 2, "c": 2}, second)
    assert third.imports["a"] is not second.imports["a"]
    assert plans["a"].imports[0].hash == "h3" and plans == thin_link(summaries(3), {"main"})[0]


def test_what_nothing_live_reaches_is_internalized_and_imports_nothing():
    def fn(callees: list[str], **kw) -> FunctionSummary:
        return FunctionSummary("external", "default", 5, callees, f"h{len(callees)}", **kw)

    summaries = {
        "a": ModuleSummary("a", "t", {"main": fn(["used"])}, undefined=["used"]),
        # `used` takes its vtable's address, whose method is live for it; `unused` is called by no one.
        "b": ModuleSummary("b", "t", {"used": fn([]), "unused": fn(["helper"]), "init": fn([])}, {"vtable": "internal"},
                           undefined=["helper", "method"],
                           refs={"used": [promoted_name("vtable", "b")], "vtable": ["method"]}),
        # `helper`'s import would promote `private`; `ctor`, which calls `init`, is reached from the
        # constructor list alone.
        "c": ModuleSummary("c", "t", {"helper": fn([promoted_name("private", "c")], promote=["private"]),
                                      "private": FunctionSummary("internal", "default", 5, [], "hp"),
                                      "method": fn([]), "ctor": fn(["init"])},
                           {"llvm.global_ctors": "appending"}, undefined=["init"],
                           refs={"llvm.global_ctors": ["ctor"]}),
    }
    plans, _ = thin_link(summaries, {"main"})
    assert [i.name for i in plans["a"].imports] == ["used"]
    assert plans["b"].imports == [] and plans["c"].promote == []
    assert "unused" in plans["b"].internalize and "used" not in plans["b"].internalize
    assert "helper" in plans["c"].internalize
    assert "method" not in plans["c"].internalize and "init" not in plans["b"].internalize
    # Once something live calls `unused`, all of it is as before liveness.
    summaries["a"] = ModuleSummary("a", "t", {"main": fn(["used", "unused"])}, undefined=["used", "unused"])
    plans, _ = thin_link(summaries, {"main"})
    assert "helper" not in plans["c"].internalize and plans["c"].promote == ["private"]
    assert "helper" in [i.name for i in plans["b"].imports]
