"""The Augment page in a real browser: a grid of variants of a real photo, re-rolled, and compared with
the tutorials' ImageDataGenerator."""

from __future__ import annotations

from playwright.sync_api import expect


def grid_sources(app) -> list[str]:
    """The image URLs of the nine variants; Streamlit names image files by a hash of their bytes."""
    return [app.page.locator(f"img[alt='augmented {i}']").first.get_attribute("src") for i in range(1, 10)]


def test_variants_rerolled_and_beside_image_data_generator(app) -> None:
    app.open("augment")
    app.assert_ok()
    expect(app.page.locator("img[alt='original']")).to_be_visible()
    first = grid_sources(app)
    assert len(set(first)) == 9

    app.page.get_by_role("button", name="Re-roll").click()
    app.wait()
    app.assert_ok()
    expect(app.page.get_by_label("Seed", exact=True)).to_have_value("1")
    # On a busy machine the rerun can still be drawing the grid: wait until its last image is a new one.
    expect(app.page.locator("img[alt='augmented 9']").first).not_to_have_attribute("src", first[-1], timeout=60_000)
    app.wait()
    rerolled = grid_sources(app)
    assert len(set(rerolled)) == 9 and not set(rerolled) & set(first)

    app.page.get_by_text("Compare with ImageDataGenerator").click()
    app.wait()
    app.assert_ok()
    expect(app.page.locator("img[alt^='ImageDataGenerator']")).to_have_count(9)
