"""Search-space operators stay inside the space; configs are canonical (pure Python, no torch)."""

from __future__ import annotations

import random

import pytest

from toolchain.nas.space import (CNNSpace, ViTConfig, ViTSpace, config_from_dict, config_to_dict, hand_cnn,
                                 shrink_phases, use_dense)

pytestmark = pytest.mark.host

SPACES = [ViTSpace(), CNNSpace(), ViTSpace(embeds=(12, 16), heads=(3, 4)),  # heads must divide width
          CNNSpace(depths=(1, 2, 3), kernels=(3, 5, 7)), CNNSpace(ops=("mb",), depths=(1, 2))]


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


def test_hand_designed_models_are_members_of_the_default_spaces() -> None:
    """The hand-designed CNN (stem conv3x3(w), conv3x3(2w), max-pool, conv3x3(2w)) at every
    width the default space can express, and the hand-scaled ViT at every embedding."""
    cnn = CNNSpace()
    for width in cnn.widths:
        for res in cnn.resolutions:
            c = hand_cnn(cnn, width, res)
            assert cnn.is_valid(c), c
            stem, stages = cnn.channels_of(c)
            assert stages[0] == stages[1] == 2 * stem and c.depths == (1, 1, 0) and set(c.ops) == {"conv"}
    from toolchain.nas.baseline import hand_vit_config

    vit = ViTSpace()
    assert all(vit.is_valid(hand_vit_config(e, 8, vit)) for e in vit.embeds)


def test_vit_space_has_mcuformers_dimensions() -> None:
    v = ViTSpace()
    for dim in ("patches", "embeds", "depths", "heads", "mlp_ratios", "ranks"):
        assert len(getattr(v, dim)) >= 2, dim
    c = v.sample(random.Random(0))
    assert len(c.ranks) == v.max_depth  # a rank per layer
    rng = random.Random(1)
    assert any(len({r for r in v.sample(rng).ranks[:3]}) > 1 for _ in range(50))  # ranks differ per layer


@pytest.mark.parametrize("space", SPACES, ids=lambda s: type(s).__name__)
def test_progressive_shrinking_phases_grow_to_the_space(space) -> None:
    phases = shrink_phases(space)
    assert phases[0].largest() == phases[0].smallest() == space.largest()  # the teacher alone
    assert phases[-1] == space
    rng = random.Random(0)
    for inner, outer in zip(phases, phases[1:]):
        assert inner.largest() == outer.largest()
        # nested (up to the filler values of unused slots, which each space picks itself)
        assert all(outer.is_valid(outer.canonical(inner.sample(rng))) for _ in range(50))
