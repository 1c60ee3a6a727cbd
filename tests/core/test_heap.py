"""`kept_objects`: no cyclic collection inside, collection restored as it was after."""

from __future__ import annotations

import gc
import weakref

import pytest

from gitexp.core.heap import collect_frozen, kept_objects, no_collection
from gitexp.experiments.query.index import Entry
from gitexp.experiments.query.select import Listing


@pytest.fixture(autouse=True)
def _unfrozen():
    """What the tests froze goes back to the collector: the next tests see a usual heap."""
    yield
    gc.unfreeze()


def test_collection_is_paused_inside_and_back_after() -> None:
    assert gc.isenabled()
    with kept_objects():
        assert not gc.isenabled()
        made = [{"row": n} for n in range(1000)]
    assert gc.isenabled()
    assert len(made) == 1000


def test_collection_off_before_stays_off_and_comes_back_after_an_error() -> None:
    gc.disable()
    try:
        with kept_objects():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ValueError, match="boom"), kept_objects():
        raise ValueError("boom")
    assert gc.isenabled()


def test_no_collection_pauses_without_freezing() -> None:
    frozen = gc.get_freeze_count()
    with no_collection():
        assert not gc.isenabled()
        made = {"kept": [1]}
    assert gc.isenabled()
    assert made and gc.get_freeze_count() == frozen  # nothing was frozen by it
    gc.disable()
    try:
        with no_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_parsing_a_listing_keeps_collection_off_for_a_caller_that_turned_it_off() -> None:
    """The UI builds its first page in `kept_objects`: a listing's parse must not undo that."""
    entry = Entry("2026-01-01", b'  "commit": "c1",\n  "status": "success"', b"")
    listing = Listing({"refs/experiments/a": "c1"}, {"c1": entry})
    with kept_objects():
        docs = listing.docs()
        assert not gc.isenabled()
    assert docs == [{"name": "a", "ref": "refs/experiments/a", "commit": "c1", "status": "success"}]


def test_a_frozen_cycle_dropped_later_is_collected_by_collect_frozen() -> None:
    class Node:
        pass

    with kept_objects():
        node = Node()
        node.me = node  # type: ignore[attr-defined]  # a cycle: refcounts never free it
    gone = weakref.ref(node)
    del node
    gc.collect()
    assert gone() is not None  # frozen: a usual collection does not look at it
    collect_frozen()
    assert gone() is None
    assert gc.get_freeze_count() > 0  # what is alive is frozen again
