"""Dataset: pick a folder, a zip or the sample, scan it, understand it at a glance, and save splits.

A thin view over `lab.data`: the scan checks every file and the manifest builder makes the splits;
this page only chooses what to scan and draws what came back. A typed path passes `lab.access`'s
allow-list; in demo mode only the listed folders can be scanned, nothing is saved, and no path is shown.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st
from PIL import Image

from app_pages.charts import COLOURS, size_map
from app_pages.session_keys import DATASET_PATH
from lab.access import allowed_data_path, shown_path
from lab.data import Manifest, ScanReport, build_manifest, download_sample, list_manifests, load_manifest, scan
from lab.data.archive import store_upload
from lab.data.download import local_samples
from lab.data.records import SPLITS
from lab.data.summary import SIZE_CELL
from lab.data.thumbnail import square_thumbnail
from lab.errors import LabError
from lab.progress import Progress
from lab.settings import Settings, load_settings
from lab.workspace import dataset_names

FOLDER, UPLOAD, SAMPLE = "A folder on this server", "Upload a zip", "Download the sample"
LAYOUTS = {
    "split_folders": "split folders (train / validation / test, one folder per class inside each)",
    "class_folders": "one folder per class",
    "flat_names": "one folder, the class in each file name (cat.1.jpg, dog.1.jpg)",
}
SAMPLES_PER_CLASS = 8
MAX_SAMPLE_CLASSES = 12
MAX_SUBSETS = 4
MAX_SHOWN_FILES = 24  # bad files and duplicate groups drawn as thumbnails; the table below lists them all
THUMBNAILS_PER_ROW = 8


@st.cache_resource(max_entries=8, show_spinner="Scanning...")
def scanned(path: str, scan_id: float, _report: ScanReport | None = None) -> ScanReport:
    """The scan of `path` made at `scan_id` (the time Scan was pressed), kept across reruns.

    The scan itself runs outside the cache, because a cached function cannot draw into a progress
    bar made outside it: `run_scan` scans with a live bar, then hands the report in as `_report`
    (left out of the cache key) to store it. Only an evicted entry is scanned again here. A resource
    cache rather than a data cache: the report is only read, and copying 20,000 records on every
    rerun would cost more than the rest of the page.
    """
    return _report if _report is not None else scan(path)


@st.cache_data(max_entries=64, show_spinner=False)
def manifest_row(path: str, mtime: float) -> dict[str, object]:
    """One line of the saved-manifests table; re-read only when the file changes."""
    manifest = load_manifest(path, load_settings())
    return {
        "name": manifest.name,
        "classes": ", ".join(manifest.classes),
        "splits": split_sizes(manifest),
        "seed": manifest.seed,
        "created": manifest.created.replace("T", " "),
        "dataset": shown_path(manifest.root, load_settings()),
        "content hash": manifest.content_hash[:12],
    }


# ---- choosing and scanning a source ------------------------------------------------------------


def choose_source(settings: Settings) -> str | None:
    """The path to scan when the user asked for a scan on this run, else None."""
    if settings.demo:
        st.caption("Demo mode: the datasets already on this server only; uploads and downloads are switched off.")
        return folder_source(settings)
    kind = st.radio("Where are your photos?", (FOLDER, UPLOAD, SAMPLE), horizontal=True)
    if kind == FOLDER:
        return folder_source(settings)
    if kind == UPLOAD:
        return upload_source(settings)
    return sample_source(settings)


def folder_source(settings: Settings) -> str | None:
    names = {str(folder): name for folder, name in dataset_names(settings).items()}
    folders = sorted(names, key=lambda folder: names[folder].casefold())  # by name, as people look for them
    current = st.session_state.get(DATASET_PATH)
    picked, typed = st.columns([2, 3])
    choice = picked.selectbox(
        "Image folder",
        folders,
        index=folders.index(current) if current in folders else 0,
        format_func=names.get,
        placeholder="No image folders found in the data folders",
    )
    path = "" if settings.demo else typed.text_input(  # demo mode: the configured folders only, no typed paths
        "...or type a folder or .zip inside the data folders",
        placeholder=str(settings.data_dirs[-1] / "my_photos") if settings.data_dirs else "",
        help="Allowed data folders: " + ", ".join(str(folder) for folder in settings.data_dirs),
    )
    if st.button("Scan", type="primary", icon=":material/search:"):
        target = path.strip() or choice
        if not target:
            raise LabError("Choose an image folder or type a path, then press Scan.")
        return str(allowed_data_path(settings, target))
    return None


def upload_source(settings: Settings) -> str | None:
    uploaded = st.file_uploader("A .zip of your photos (class folders, split folders or cat.1.jpg-style names)",
                                type=["zip"])
    if st.button("Unpack and scan", type="primary", disabled=uploaded is None, icon=":material/unarchive:"):
        return str(store_upload(uploaded.getvalue(), uploaded.name, settings.datasets_dir))
    return None


def sample_source(settings: Settings) -> str | None:
    """Download the sample, or, where this server already has a copy (no internet needed), scan that."""
    copies, names = local_samples(settings), dataset_names(settings)
    st.caption("Google's `cats_and_dogs_filtered` (about 65 MB): 2,000 training and 1,000 validation photos, "
               "the set the TensorFlow transfer-learning tutorial uses. Needs an internet connection"
               + (", or use the copy this server already has." if copies else "."))
    with st.container(horizontal=True):
        download = st.button("Download the sample dataset", type="primary", icon=":material/download:")
        used = [copy for copy in copies
                if st.button(f"Use {names.get(copy, copy.name)} from this server", icon=":material/folder_open:",
                             key=f"use_{copy}", help=f"A copy already here, in {copy.parent}: no download needed.")]
    if used:
        return str(used[0])
    if download:
        with progress_bar("Downloading...") as update:
            return str(download_sample(settings, on_progress=update))
    return None


def run_scan(path: str) -> ScanReport:
    """Scan with a progress bar, and remember what was scanned for the next reruns and pages."""
    scan_id = time.time()
    with progress_bar(f"Scanning {shown_path(path, load_settings())}...") as update:
        report = scanned(path, scan_id, _report=scan(path, on_progress=update))
    st.session_state["scan"] = (path, scan_id)
    st.session_state[DATASET_PATH] = str(report.root)
    return report


def current_report() -> ScanReport | None:
    """The last scan of this session, or a fresh scan of the dataset another page was using."""
    if "scan" in st.session_state:
        return scanned(*st.session_state["scan"])
    if DATASET_PATH in st.session_state:
        path = st.session_state.pop(DATASET_PATH)  # put back by a scan that succeeds
        return run_scan(path)
    return None


@contextmanager
def progress_bar(text: str) -> Iterator[Progress]:
    """A progress bar fed by a lab `on_progress` callback, removed when the work ends or fails."""
    bar = st.progress(0.0, text=text)

    def update(done: int, total: int, message: str) -> None:
        bar.progress(done / total if total else 0.0, text=f"{message}: {done:,} of {total:,}")

    try:
        yield update
    finally:
        bar.empty()


# ---- what the scan found -----------------------------------------------------------------------


def summary_sentence(report: ScanReport) -> str:
    """The one line a first-time visitor reads: how many images, which classes, how many are bad."""
    classes = ", ".join(f"{name} {count:,}" for name, count in report.classes.items())
    bad = len(report.invalid)
    return (f"{report.valid:,} images of {len(report.classes)} classes: {classes}; "
            f"{bad:,} bad file{'' if bad == 1 else 's'}.")


def overview(report: ScanReport) -> None:
    st.subheader(summary_sentence(report))
    layout = LAYOUTS.get(report.layout, report.layout)
    splits = " · ".join(f"{split} {sum(counts.values()):,}" for split, counts in report.splits.items())
    remembered = f", {report.from_cache:,} remembered from an earlier scan" if report.from_cache else ""
    root = shown_path(report.root, load_settings())
    st.caption(f"`{root}` · laid out as {layout}" + (f" · {splits}" if splits else "")
               + f" · checked in {report.seconds:.1f} s{remembered}")
    images, valid, bad, classes, copies = st.columns(5)
    images.metric("Images", f"{report.total:,}", help="Every image file found, good or bad.")
    valid.metric("Valid", f"{report.valid:,}", help="Opened and decoded completely; these are used.")
    bad.metric("Bad", f"{len(report.invalid):,}", help="Broken or unreadable files; left out of everything.")
    classes.metric("Classes", len(report.classes))
    copies.metric("Duplicates", f"{_extra_copies(report.duplicates):,}",
                  help=f"{_copies_phrase(report.duplicates).capitalize()}: files whose bytes are identical to "
                       "another file's.")
    balance, sizes = st.columns(2)
    with balance:
        class_balance(report)
    with sizes:
        image_sizes(report)


def class_balance(report: ScanReport) -> None:
    """Bars per class (and split), in the size map's colours: one colour per class on the whole page, and
    not Streamlit's theme, whose second colour is a pale light blue."""
    if report.splits:
        rows = [{"split": split, "class": label, "images": count}
                for split, counts in report.splits.items() for label, count in counts.items()]
        figure = px.bar(pd.DataFrame(rows), x="split", y="images", color="class", barmode="group",
                        text_auto=",", title="Images per class and split", color_discrete_sequence=COLOURS)
    else:
        frame = pd.DataFrame({"class": list(report.classes), "images": list(report.classes.values())})
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
         f"Duplicates and leakage ({_copies_phrase(report.duplicates)})"])
    with samples:
        sample_grid(report)
    with folders:
        st.code(folder_tree(report), language=None)
    with bad_tab:
        bad_files(report)
    with duplicates_tab:
        duplicates(report)


def sample_grid(report: ScanReport) -> None:
    """A few photos of each class, each class drawn on its own: with one shared seed, classes whose files
    are numbered alike (cat.12.jpg, dog.12.jpg) would all show the same numbers."""
    by_class: dict[str, list[str]] = {}
    for record in report.records:
        by_class.setdefault(record.label, []).append(record.path)
    for label, paths in list(by_class.items())[:MAX_SAMPLE_CLASSES]:
        sizes = report.per_class[label]
        st.markdown(f"**{label}** · {sizes.images:,} images, median {sizes.width.median:.0f} x "
                    f"{sizes.height.median:.0f} pixels")
        picked = random.Random(f"samples of {label}").sample(paths, min(SAMPLES_PER_CLASS, len(paths)))
        thumbnail_grid([(path, Path(path).name) for path in picked])
    if len(by_class) > MAX_SAMPLE_CLASSES:
        st.caption(f"...and {len(by_class) - MAX_SAMPLE_CLASSES} more classes.")


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


def folder_tree(report: ScanReport) -> str:
    """`ls -R`, summarised: each folder with the number of image files under it (and how many are bad)."""
    lines = []
    for folder, count in report.folders.items():
        parts = Path(folder).parts
        name = parts[-1] if parts else report.root.name
        broken = f"  ({count.bad:,} bad)" if count.bad else ""
        lines.append(f"{'    ' * len(parts)}{name}/  {count.images:,} images{broken}")
    return "\n".join(lines)


def bad_files(report: ScanReport) -> None:
    if report.unreadable:
        st.warning(("1 folder could not be opened and was skipped" if len(report.unreadable) == 1 else
                    f"{len(report.unreadable):,} folders could not be opened and were skipped") + " (check their "
                   "permissions, or whether they are links leading outside the dataset): "
                   + ", ".join(str(_relative(Path(f), report.root)) for f in report.unreadable))
    if not report.invalid:
        st.success("No bad files: every image opened and decoded completely.")
        return
    st.warning(f"{len(report.invalid):,} files could not be used and are left out of every split and "
               "training run. Nothing was deleted; fix or remove them yourself if you like.")
    shown = report.invalid[:MAX_SHOWN_FILES]
    thumbnail_grid([(item["path"], str(_relative(Path(item["path"]), report.root))) for item in shown])
    frame = pd.DataFrame({"file": [str(_relative(Path(i["path"]), report.root)) for i in report.invalid],
                          "reason": [i["reason"] for i in report.invalid]})
    st.dataframe(frame, hide_index=True, column_config={"file": st.column_config.TextColumn(width="medium"),
                                                         "reason": st.column_config.TextColumn(width="large")})


def duplicates(report: ScanReport) -> None:
    if not report.duplicates:
        st.success("No duplicates: every image's content is unique.")
    else:
        images = len(report.duplicates)
        st.warning(f"{_copies_phrase(report.duplicates).capitalize()}: {images:,} "
                   f"{'image appears' if images == 1 else 'images appear'} more than once, byte for byte. "
                   "Saving a split can leave the extra copies out.")
        shown = report.duplicates[:MAX_SHOWN_FILES]
        thumbnail_grid([(group[0], f"{len(group)} copies: " + ", ".join(Path(p).name for p in group))
                       for group in shown])
        st.dataframe(_groups_table(report.duplicates, report.root), hide_index=True)
    if report.leakage:
        st.warning(f"Leakage: {len(report.leakage):,} images are in more than one split (for example the same "
                 "photo in train and validation). The model is then tested on photos it trained on, and "
                 "validation accuracy looks better than it is.")
        st.dataframe(_groups_table(report.leakage, report.root), hide_index=True)
    elif report.splits:
        st.success("No leakage: no image is in more than one split.")


def _groups_table(groups: list[list[str]], root: Path) -> pd.DataFrame:
    return pd.DataFrame({"copies": [len(group) for group in groups],
                         "files": [", ".join(str(_relative(Path(p), root)) for p in group) for group in groups]})


def _extra_copies(groups: list[list[str]]) -> int:
    return sum(len(group) - 1 for group in groups)


def _copies_phrase(groups: list[list[str]]) -> str:
    """"4 extra copies": the one wording of the duplicates count, in the tab, its warning and the metric."""
    extra = _extra_copies(groups)
    return f"{extra:,} extra cop{'y' if extra == 1 else 'ies'}"


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
        st.error(str(error))
        manifest = None
    else:
        left_out = f" ({_copies_phrase(report.duplicates)} left out)" if drop and report.duplicates else ""
        st.markdown(f"**This split:** {split_sizes(manifest)} images{left_out}")
    if settings.demo:
        st.caption("Demo mode: saving splits is switched off on this server.")
    elif st.button("Save manifest", type="primary", icon=":material/save:", disabled=manifest is None):
        path = manifest.save(settings)
        st.success(f"Saved manifest **{manifest.name}**: {split_sizes(manifest)}. Other pages and "
                   f"`python -m lab train --data {path}` can use it.")


def held_out_share(split: str, report: ScanReport, default: int) -> int:
    """A slider for the share of training photos to hold out, unless the data has its own folder for it."""
    if split in report.splits:
        st.markdown(f"**{split.capitalize()}**")
        st.caption(f"The dataset's own `{split}` folder: {sum(report.splits[split].values()):,} images.")
        return 0
    return st.slider(f"{split.capitalize()} share", 0, 50, default, format="%d%%",
                     help=f"The share of the training photos held out for {split}, the same in every class.")


def subset_rows(report: ScanReport) -> dict[str, tuple[str, int]]:
    """Rows of (name, drawn from, size); the first suggests the tutorial's 1,000-image subset."""
    count = st.columns(4)[0].number_input(
        "Smaller training subsets", min_value=0, max_value=MAX_SUBSETS, value=0, step=1,
        help="For example 'train_1000' drawn from 'train': 1,000 photos, the same share of every class.")
    train = sum(report.splits.get("train", report.classes).values())
    subsets = {}
    for index in range(int(count)):
        name_col, from_col, size_col = st.columns(3)
        default = min(1000, train // 2) // (index + 1)
        name = name_col.text_input("Subset name", value=f"train_{default}", key=f"subset_name_{index}")
        source = from_col.selectbox("Drawn from", ["train", "validation", "test"], key=f"subset_from_{index}")
        size = size_col.number_input("Images", min_value=1, value=max(default, 1), step=100,
                                     key=f"subset_size_{index}")
        subsets[name.strip()] = (source, int(size))
    return subsets


def split_sizes(manifest: Manifest) -> str:
    """"train 1,600 · validation 400 · train_1000 1,000": the base splits first, then the subsets."""
    order = [split for split in SPLITS if split in manifest.splits]
    order += sorted(split for split in manifest.splits if split not in SPLITS)
    return " · ".join(f"{split} {len(manifest.splits[split]):,}" for split in order)


def saved_manifests(settings: Settings) -> None:
    names = list_manifests(settings)
    st.subheader(f"Saved manifests ({len(names)})")
    if not names:
        st.caption("None yet. Save one above; the Train page and the CLI read them by name.")
        return
    paths = [settings.manifests_dir / f"{name}.json" for name in names]
    rows = [manifest_row(str(path), path.stat().st_mtime) for path in paths]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


# ---- helpers -----------------------------------------------------------------------------------


def _relative(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return path


# ---- the page ----------------------------------------------------------------------------------


def main() -> None:
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
        st.error(str(error))  # and keep showing the dataset scanned before, if any
    try:
        report = current_report()
    except LabError as error:
        st.error(str(error))
        return
    if report is None:
        st.info("No dataset scanned yet. Pick one above; `cats_and_dogs_filtered` is a good first choice.")
        return
    overview(report)
    details(report)
    try:
        split_builder(report, settings)
    except LabError as error:
        st.error(str(error))
    saved_manifests(settings)


main()
