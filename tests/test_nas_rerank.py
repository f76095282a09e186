"""The final choice of `mcuforge nas`: re-ranking by validation accuracy after training from
scratch (toolchain/nas/rerank.py). Cheap: a fake trainer, and weights compared right after
initialisation."""

from __future__ import annotations

import pytest

from toolchain.nas.evolution import Candidate
from toolchain.nas.measure import Footprint
from toolchain.nas.rerank import Entry, rerank, shortlist
from toolchain.nas.space import CNNSpace, hand_cnn

pytestmark = pytest.mark.host

SPACE = CNNSpace()


def _cand(width: float, inherited: float, arena: int) -> Candidate:
    return Candidate(hand_cnn(SPACE, width, 8), inherited, Footprint(arena, 1000, 0, 1000))


def test_rerank_picks_by_validation_not_by_inherited_or_test() -> None:
    # Inherited ranking: a > b > c. Trained from scratch, on validation: c > hand > a > b.
    a, b, c = _cand(0.5, 0.99, 6000), _cand(0.75, 0.98, 9000), _cand(1.5, 0.90, 15000)
    hand = Entry("hand cnn r8 width 16", hand_cnn(SPACE, 1.0, 8), Footprint(12288, 1000, 0, 1000), None, hand=True)
    entries = shortlist([b, c, a], 3, hand)
    assert [e.config for e in entries[:3]] == [a.config, b.config, c.config] and entries[3] is hand
    val = {a.config: (0.95, 0.96), b.config: (0.94, 0.93), c.config: (0.99, 0.98), hand.config: (0.97, 0.98)}
    # The test split is what a cheat would pick by: the fake trainer never sees it.
    test = {a.config: 1.0, b.config: 1.0, c.config: 0.5, hand.config: 0.5}
    calls: list[tuple[str, int]] = []

    def score(e: Entry, seed: int) -> float:
        calls.append((e.label, seed))
        assert test[e.config] is not None
        return val[e.config][seed - 7]

    ranked = rerank(entries, score, seeds=[7, 8])
    assert ranked[0].entry.config == c.config
    assert ranked[0].mean == pytest.approx(0.985)
    assert [r.entry.label for r in ranked] == [c.config.short(), hand.label, a.config.short(), b.config.short()]
    assert ranked[1].entry.hand and ranked[1].val == (0.97, 0.98)
    assert sorted(calls) == sorted((e.label, s) for e in entries for s in (7, 8))  # every entry, every seed


def test_rerank_ties_keep_the_hand_design_then_the_smaller_arena() -> None:
    a, b = _cand(0.5, 0.99, 6000), _cand(1.0, 0.98, 12288)
    hand = Entry("hand", b.config, b.footprint, None, hand=True)
    entries = shortlist([a, b], 3, hand)
    assert [e.label for e in entries] == [a.config.short(), "hand"]   # b is the hand design: once
    # A tie: the hand design stays (a searched model must be strictly better on validation).
    ranked = rerank(entries, lambda e, s: 0.97, seeds=[0])
    assert ranked[0].entry.hand
    # Tied searched models: the smaller arena first.
    c = _cand(0.75, 0.9, 9000)
    ranked = rerank(shortlist([c, a], 2, None), lambda e, s: 0.97, seeds=[0])
    assert [r.entry.config for r in ranked] == [a.config, c.config]
    # Without a hand design and k = 1: the search's best alone.
    assert [e.config for e in shortlist([b, a], 1, None)] == [a.config]
    with pytest.raises(ValueError):
        rerank([], lambda e, s: 0.0, seeds=[0])


@pytest.mark.parametrize("width", [8, 16])
def test_reinitialised_hand_config_equals_reinitialised_hand_model(width) -> None:
    """The same architecture gets the same fresh weights whether extracted from the supernet
    or built as PlainCNN: with the same schedule and seed, a re-ranking won by the hand design
    ships the hand baseline itself."""
    torch = pytest.importorskip("torch")
    from toolchain.nas.baseline import PlainCNN
    from toolchain.nas.cnn import CNNSupernet
    from toolchain.nas.rerank import reinitialise

    ours = reinitialise(CNNSupernet(SPACE).extract(hand_cnn(SPACE, width / SPACE.stem_channels, 8)), 3)
    hand = reinitialise(PlainCNN(width), 3)
    a, b = list(ours.state_dict().values()), list(hand.state_dict().values())
    assert [t.shape for t in a] == [t.shape for t in b]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ours.eval()(x), hand.eval()(x))


def test_reinitialise_draws_new_weights_for_the_vit_and_is_seeded() -> None:
    torch = pytest.importorskip("torch")
    from toolchain.nas.baseline import hand_vit
    from toolchain.nas.rerank import reinitialise

    m = hand_vit(16, 1, 10, 8)
    before = {k: p.detach().clone() for k, p in m.named_parameters()}
    one = {k: p.detach().clone() for k, p in reinitialise(m, 1).named_parameters()}
    two = {k: p.detach().clone() for k, p in reinitialise(hand_vit(16, 1, 10, 8), 1).named_parameters()}
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert not torch.equal(before["pos"], one["pos"])   # the position embedding is drawn afresh too
    assert float(one["pos"].std()) == pytest.approx(0.02, rel=0.3)
    assert not torch.equal(before["head.weight"], one["head.weight"])
