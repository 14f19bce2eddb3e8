import random
from collections import Counter

from nodes.api import NodeContext, Services
from nodes.logic.random_split import NODE


def settings(**extra):
    base = {"variants": [{"port": "a", "weight": 80}, {"port": "b", "weight": 20}]}
    return NODE.parse({**base, **extra}, 1)


async def pick(s, seed, vars=None):
    ctx = NodeContext(vars=vars if vars is not None else {}, services=Services(random=random.Random(seed)))
    return (await NODE.run(ctx, s)).port


async def test_follows_the_weights():
    s = settings()
    counts = Counter([await pick(s, seed) for seed in range(2000)])
    assert set(counts) == {"a", "b"}
    assert 0.75 < counts["a"] / 2000 < 0.85


async def test_same_seed_same_choice():
    s = settings()
    assert [await pick(s, 7) for _ in range(5)] == [await pick(s, 7)] * 5


async def test_a_zero_weight_variant_is_never_chosen():
    s = NODE.parse({"variants": [{"port": "a", "weight": 0}, {"port": "b", "weight": 1}]}, 1)
    assert {await pick(s, seed) for seed in range(200)} == {"b"}


async def test_remembers_the_variant_and_keeps_it_when_the_person_comes_back():
    s = settings(save_as="variant")
    vars: dict = {}
    first = await pick(s, 1, vars)
    assert vars["variant"] == first
    assert {await pick(s, seed, vars) for seed in range(50)} == {first}


async def test_without_sticky_it_draws_again():
    s = settings(save_as="variant", sticky=False)
    vars = {"variant": "b"}
    ports = {await pick(s, seed, vars) for seed in range(50)}
    assert ports == {"a", "b"}


def test_outputs_and_problems_come_from_the_variants():
    assert NODE.inspect({"variants": [{"port": "x"}, {"port": "y"}, {"port": "z"}]}, 1).outputs == ["x", "y", "z"]
    assert NODE.inspect({"variants": [{"port": "x"}, {"port": "x"}]}, 1).errors
    assert NODE.inspect({"variants": [{"port": "x", "weight": 0}, {"port": "y", "weight": 0}]}, 1).errors
    assert NODE.inspect({"variants": [{"port": "Bad Name"}, {"port": "y"}]}, 1).errors
