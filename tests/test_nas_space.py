"""Search-space operators stay inside the space; configs are canonical (pure Python, no torch)."""

from __future__ import annotations

import random

import pytest

from toolchain.nas.space import (CNNSpace, ViTConfig, ViTSpace, config_from_dict, config_to_dict, use_dense)

pytestmark = pytest.mark.host

SPACES = [ViTSpace(), CNNSpace(), ViTSpace(embeds=(12, 16), heads=(3, 4)),  # heads must divide width
          CNNSpace(depths=(1, 2, 3), kernels=(3, 5, 7))]


@pytest.mark.parametrize("space", SPACES, ids=lambda s: type(s).__name__)
def test_operators_stay_inside_space(space) -> None:
    rng = random.Random(1)
    assert space.is_valid(space.largest()) and space.is_valid(space.smallest())
    pop = [space.sample(rng) for _ in range(30)]
    for _ in range(500):
        a, b = rng.choice(pop), rng.choice(pop)
        m = space.mutate(a, rng, prob=0.5)
        c = space.crossover(a, b, rng)
        assert space.is_valid(m), m
        assert space.is_valid(c), c
        pop.append(m if rng.random() < 0.5 else c)


def test_crossover_takes_every_field_from_a_parent() -> None:
    space, rng = CNNSpace(), random.Random(2)
    for _ in range(200):
        a, b = space.sample(rng), space.sample(rng)
        c = space.crossover(a, b, rng)
        assert c.resolution in (a.resolution, b.resolution) and c.width in (a.width, b.width)
        assert all(d in (x, y) for d, x, y in zip(c.depths, a.depths, b.depths))


def test_mutation_explores_and_prob_zero_is_identity() -> None:
    space, rng = ViTSpace(), random.Random(3)
    a = space.sample(rng)
    assert space.mutate(a, rng, prob=0.0) == a
    assert len({space.mutate(a, rng, prob=0.5) for _ in range(200)}) > 20


def test_canonical_configs_compare_equal_when_unused_slots_differ() -> None:
    space = ViTSpace()
    a = space.canonical(ViTConfig(8, 2, 16, 1, 2, 1.0, (8, 4, "dense")))
    b = space.canonical(ViTConfig(8, 2, 16, 1, 2, 1.0, (8, 16, 8)))
    assert a == b and hash(a) == hash(b)
    assert not space.is_valid(ViTConfig(8, 2, 16, 1, 2, 1.0, (8, 16, 8)))  # not canonical
    assert not space.is_valid(ViTConfig(8, 2, 20, 1, 2, 1.0, (8, 4, 4)))  # width not in the space


def test_dense_when_factored_is_not_smaller() -> None:
    assert use_dense("dense", 16, 16)
    assert use_dense(8, 16, 16)        # 8 * 32 = 256 = 16 * 16: not smaller
    assert not use_dense(4, 16, 16)
    assert not use_dense(16, 48, 96)


@pytest.mark.parametrize("space", SPACES[:2], ids=lambda s: type(s).__name__)
def test_config_json_round_trip(space) -> None:
    c = space.sample(random.Random(4))
    assert config_from_dict(space.family, config_to_dict(c)) == c
