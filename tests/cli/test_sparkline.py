from gitexp.cli.sparkline import sparkline


def test_rising_series_climbs_from_lowest_to_highest_bar():
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"


def test_long_series_is_squeezed_to_width_by_bucket_means():
    line = sparkline([float(i) for i in range(1000)], width=10)
    assert len(line) == 10
    assert line[0] == "▁" and line[-1] == "█"
    assert list(line) == sorted(line)


def test_flat_series_is_a_row_of_middle_bars():
    assert sparkline([3.0, 3.0, 3.0]) == "▄▄▄"


def test_non_finite_values_are_spaces_and_do_not_break_the_scale():
    assert sparkline([0.0, float("nan"), 1.0, float("inf")]) == "▁ █ "


def test_empty_series_draws_nothing():
    assert sparkline([]) == ""
