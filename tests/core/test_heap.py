"""`kept_objects`: no cyclic collection inside, collection restored as it was after."""

from __future__ import annotations

import gc

import pytest

from gitexp.core.heap import kept_objects


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
