"""Dataset: pick a folder, a zip or the sample, scan it, understand it at a glance, and save splits.

A thin view over `lab.data`: the scan checks every file, `lab.data.report_text` says what it found and
`lab.data.split_choices` what the split builder offers, and the manifest builder makes the splits; this page
only draws. Choosing and scanning the photos is `app_pages.dataset_source`. In demo mode only the listed
folders can be scanned, nothing is saved, and no path is shown.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st
from PIL import Image

from app_pages.charts import COLOURS, size_map
from app_pages.dataset_source import choose_source, current_report, run_scan
from app_pages.duplicate_views import near_duplicate_check
from app_pages.label_views import label_issues_section
from app_pages.photo_map_views import photo_map_section
from app_pages.plain_text import chart_text, error_text
from lab.access import shown_path
from lab.data import ScanReport, build_manifest, list_manifests, load_manifest, report_text, split_choices
from lab.data.samples import class_samples
from lab.data.summary import SIZE_CELL
from lab.data.thumbnail import square_thumbnail
from lab.errors import LabError
from lab.settings import Settings, load_settings

SAMPLES_PER_CLASS = 8
MAX_SAMPLE_CLASSES = 12
MAX_SHOWN_FILES = 24  # bad files and duplicate groups drawn as thumbnails; the table below lists them all
THUMBNAILS_PER_ROW = 8


@st.cache_data(max_entries=64, show_spinner=False)
def saved_row(path: str, mtime: float) -> dict[str, object]:
    """One line of the saved-manifests table; re-read only when the file changes."""
    manifest = load_manifest(path, load_settings())
    return split_choices.manifest_row(manifest, shown_path(manifest.root, load_settings()))


# ---- what the scan found -----------------------------------------------------------------------


def overview(report: ScanReport) -> None:
    st.subheader(report_text.summary_sentence(report))
    st.caption(f"`{shown_path(report.root, load_settings())}` · {report_text.scan_facts(report)}")
    images, valid, bad, classes, copies = st.columns(5)
    images.metric("Images", f"{report.total:,}", help="Every image file found, good or bad.")
    valid.metric("Valid", f"{report.valid:,}", help="Opened and decoded completely; these are used.")
    bad.metric("Bad", f"{len(report.invalid):,}", help="Broken or unreadable files; left out of everything.")
    classes.metric("Classes", len(report.classes))
    copies.metric("Duplicates", f"{report_text.extra_copies(report.duplicates):,}",
                  help=f"{report_text.copies_phrase(report.duplicates).capitalize()}: files whose bytes are "
                       "identical to another file's.")
    balance, sizes = st.columns(2)
    with balance:
        class_balance(report)
    with sizes:
        image_sizes(report)


def class_balance(report: ScanReport) -> None:
    """Bars per class (and split), in the size map's colours: one colour per class on the whole page, and
    not Streamlit's theme, whose second colour is a pale light blue."""
    if report.splits:
        rows = [{"split": chart_text(split), "class": chart_text(label), "images": count}
                for split, counts in report.splits.items() for label, count in counts.items()]
        figure = px.bar(pd.DataFrame(rows), x="split", y="images", color="class", barmode="group",
                        text_auto=",", title="Images per class and split", color_discrete_sequence=COLOURS)
    else:
        frame = pd.DataFrame({"class": [chart_text(name) for name in report.classes],
                              "images": list(report.classes.values())})
        figure = px.bar(frame, x="class", y="images", color="class", text_auto=",", title="Images per class",
                        color_discrete_sequence=COLOURS)
    figure.update_layout(height=360, margin={"t": 50, "b": 10}, legend_title_text="class")
    st.plotly_chart(figure)


def image_sizes(report: ScanReport) -> None:
    """The size map where sizes vary; where every image has one size, a chart of one dot says less than
    the sentence "All images are 160 x 160"."""
    if report.sizes is None:
        st.caption("No valid images, so no sizes.")
        return
    sizes = report.sizes.sentence()
    if report.sizes.distinct > 1:
        st.plotly_chart(size_map(report.size_distribution, SIZE_CELL))
        st.caption(f"{sizes} Training squashes every image to the model's input size.")
    else:
        st.markdown("**Image sizes**")
        st.info(f"{sizes} Training squashes every image to the model's input size, so none is squashed more "
                "than another.", icon=":material/aspect_ratio:")


def details(report: ScanReport) -> None:
    bad = len(report.invalid)
    samples, folders, bad_tab, duplicates_tab = st.tabs(
        ["Sample images", "Folders", f"Bad files ({bad:,})",
         f"Duplicates and leakage ({report_text.copies_phrase(report.duplicates)})"])
    with samples:
        sample_grid(report)
    with folders:
        st.code(report_text.folder_tree(report), language=None)
    with bad_tab:
        bad_files(report)
    with duplicates_tab:
        duplicates(report)
        st.caption("Resized, recompressed or mirrored copies have other bytes: **Near-duplicates** below finds them.")


def sample_grid(report: ScanReport) -> None:
    """A few photos of each class (`lab.data.samples.class_samples`), for the first MAX_SAMPLE_CLASSES classes."""
    samples = class_samples(report.records, SAMPLES_PER_CLASS)
    for label, paths in list(samples.items())[:MAX_SAMPLE_CLASSES]:
        sizes = report.per_class[label]
        st.markdown(f"**{label}** · {sizes.images:,} images, median {sizes.width.median:.0f} x "
                    f"{sizes.height.median:.0f} pixels")
        thumbnail_grid([(path, Path(path).name) for path in paths])
    if len(samples) > MAX_SAMPLE_CLASSES:
        st.caption(f"...and {len(samples) - MAX_SAMPLE_CLASSES} more classes.")


def thumbnail_grid(files: list[tuple[str, str]]) -> None:
    """Thumbnails of (path, caption), THUMBNAILS_PER_ROW to a row; a file that does not decode says so."""
    for start in range(0, len(files), THUMBNAILS_PER_ROW):
        for column, (path, caption) in zip(st.columns(THUMBNAILS_PER_ROW), files[start:start + THUMBNAILS_PER_ROW]):
            image = thumbnail(path)
            if image is None:
                column.caption(f":material/broken_image: {caption}: no preview, the file does not open")
            else:
                column.image(image, caption=caption, width="stretch")


@st.cache_data(max_entries=256, show_spinner=False)
def thumbnail(path: str, size: int = 192) -> Image.Image | None:
    """`lab.data.thumbnail.square_thumbnail`, kept across reruns so a tab switch decodes nothing again."""
    return square_thumbnail(path, size)


def bad_files(report: ScanReport) -> None:
    if report.unreadable:
        st.warning(report_text.unreadable_sentence(report))
    if not report.invalid:
        st.success("No bad files: every image opened and decoded completely.")
        return
    st.warning(f"{len(report.invalid):,} files could not be used and are left out of every split and "
               "training run. Nothing was deleted; fix or remove them yourself if you like.")
    shown = report.invalid[:MAX_SHOWN_FILES]
    thumbnail_grid([(item["path"], report_text.relative_name(item["path"], report.root)) for item in shown])
    frame = pd.DataFrame({"file": [report_text.relative_name(i["path"], report.root) for i in report.invalid],
                          "reason": [i["reason"] for i in report.invalid]})
    st.dataframe(frame, hide_index=True, column_config={"file": st.column_config.TextColumn(width="medium"),
                                                         "reason": st.column_config.TextColumn(width="large")})


def duplicates(report: ScanReport) -> None:
    if not report.duplicates:
        st.success("No duplicates: every image's content is unique.")
    else:
        st.warning(report_text.duplicates_sentence(report.duplicates))
        shown = report.duplicates[:MAX_SHOWN_FILES]
        thumbnail_grid([(group[0], f"{len(group)} copies: " + ", ".join(Path(p).name for p in group))
                       for group in shown])
        st.dataframe(pd.DataFrame(report_text.group_rows(report.duplicates, report.root)), hide_index=True)
    if report.leakage:
        st.warning(f"Leakage: {len(report.leakage):,} images are in more than one split (for example the same "
                 "photo in train and validation). The model is then tested on photos it trained on, and "
                 "validation accuracy looks better than it is.")
        st.dataframe(pd.DataFrame(report_text.group_rows(report.leakage, report.root)), hide_index=True)
    elif report.splits:
        st.success("No leakage: no image is in more than one split.")


# ---- splits, subsets and manifests -------------------------------------------------------------


def split_builder(report: ScanReport, settings: Settings) -> None:
    st.subheader("Split and save")
    st.caption("A model must be checked on photos it never trained on. Choose how many photos to hold out "
               "for **validation** (checked after every epoch) and **test** (checked once at the end), and, "
               "like the tutorials, smaller **subsets** of the training photos to see how much data matters. "
               "The same seed always gives the same split; subsets are nested, so a 1,000-photo subset lies "
               "inside a 5,000-photo one. Nothing is copied: a manifest lists the files.")
    name_col, validation_col, test_col, seed_col = st.columns(4)
    name = name_col.text_input("Manifest name", value=report.root.name)
    with validation_col:
        validation = held_out_share("validation", report, default=20)
    with test_col:
        test = held_out_share("test", report, default=0)
    seed = seed_col.number_input("Seed", min_value=0, value=0, step=1,
                                 help="Another seed draws other photos for each split and subset.")
    subsets = subset_rows(report)
    drop = st.checkbox("Leave out duplicate copies", value=True)
    try:  # built on every change (a tenth of a second for 20,000 images), so the sizes show before Save
        manifest = build_manifest(report, name=name.strip(), validation=validation / 100, test=test / 100,
                                  subsets=subsets, seed=int(seed), drop_duplicates=drop)
    except LabError as error:
        st.error(error_text(error))
        manifest = None
    else:
        left_out = f" ({report_text.copies_phrase(report.duplicates)} left out)" if drop and report.duplicates else ""
        st.markdown(f"**This split:** {split_choices.split_sizes_text(manifest)} images{left_out}")
    if settings.demo:
        st.caption("Demo mode: saving splits is switched off on this server.")
    elif st.button("Save manifest", type="primary", icon=":material/save:", disabled=manifest is None):
        path = manifest.save(settings)
        st.success(f"Saved manifest **{manifest.name}**: {split_choices.split_sizes_text(manifest)}. Other pages and "
                   f"`python -m lab train --data {path}` can use it.")


def held_out_share(split: str, report: ScanReport, default: int) -> int:
    """A slider for the share of training photos to hold out, unless the data has its own folder for it."""
    own = split_choices.own_split_images(report, split)
    if own is not None:
        st.markdown(f"**{split.capitalize()}**")
        st.caption(f"The dataset's own `{split}` folder: {own:,} images.")
        return 0
    return st.slider(f"{split.capitalize()} share", 0, 50, default, format="%d%%",
                     help=f"The share of the training photos held out for {split}, the same in every class.")


def subset_rows(report: ScanReport) -> dict[str, tuple[str, int]]:
    """Rows of (name, drawn from, size); the first suggests the tutorial's 1,000-image subset."""
    count = st.columns(4)[0].number_input(
        "Smaller training subsets", min_value=0, max_value=split_choices.MAX_SUBSETS, value=0, step=1,
        help="For example 'train_1000' drawn from 'train': 1,000 photos, the same share of every class.")
    training = split_choices.training_images(report)
    subsets = {}
    for index in range(int(count)):
        name_col, from_col, size_col = st.columns(3)
        default_name, default_size = split_choices.default_subset(training, index)
        name = name_col.text_input("Subset name", value=default_name, key=f"subset_name_{index}")
        source = from_col.selectbox("Drawn from", split_choices.SUBSET_SOURCES, key=f"subset_from_{index}")
        size = size_col.number_input("Images", min_value=1, value=default_size, step=100,
                                     key=f"subset_size_{index}")
        subsets[name.strip()] = (source, int(size))
    return subsets


def saved_manifests(settings: Settings) -> None:
    names = list_manifests(settings)
    st.subheader(f"Saved manifests ({len(names)})")
    if not names:
        st.caption("None yet. Save one above; the Train page and the CLI read them by name.")
        return
    paths = [settings.manifests_dir / f"{name}.json" for name in names]
    rows = [saved_row(str(path), path.stat().st_mtime) for path in paths]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


# ---- the page ----------------------------------------------------------------------------------


def page() -> None:
    settings = load_settings()
    st.title("Dataset")
    st.markdown("Choose your photos and press **Scan**. The lab opens every file, counts the photos per "
                "class, and finds broken files and duplicates before they can spoil a training run.")
    try:
        with st.container(border=True):
            path = choose_source(settings)
        if path:
            run_scan(path)
    except LabError as error:
        st.error(error_text(error))  # and keep showing the dataset scanned before, if any
    try:
        report = current_report()
    except LabError as error:
        st.error(error_text(error))
        return
    if report is None:
        st.info("No dataset scanned yet. Pick one above; `cats_and_dogs_filtered` is a good first choice.")
        return
    overview(report)
    details(report)
    photo_map_section(report, settings)
    near_duplicate_check(report, settings)
    label_issues_section(report, settings)
    try:
        split_builder(report, settings)
    except LabError as error:
        st.error(error_text(error))
    saved_manifests(settings)


page()
