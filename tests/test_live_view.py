"""The demo's live table: the conversion funnel's three numbers in one cell."""

from local_stack.cli import funnel_line


def test_the_funnel_shows_each_stage_with_its_share_of_the_first():
    stages = [("Viewed", 1130), ("Added to cart", 565), ("Purchased", 226)]
    assert funnel_line(stages) == "Viewed 1,130 → Added to cart 565 (50%) → Purchased 226 (20%)"


def test_an_empty_funnel_shows_zeros_and_no_share():
    assert funnel_line([("Viewed", 0), ("Added to cart", 0), ("Purchased", 0)]) == (
        "Viewed 0 → Added to cart 0 → Purchased 0"
    )
    assert funnel_line([]) == "-"
