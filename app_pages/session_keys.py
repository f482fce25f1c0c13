"""Session-state keys that more than one page reads: named once, so a page cannot misspell another's.

Keys a single page keeps to itself stay in that page. Query parameters one page sets for another are here too.
"""

DATASET_PATH = "dataset_path"  # the dataset folder the Dataset page scanned last; Augment and Train follow it
PREDICT_RUN = "predict_run"  # the run Predict answers with; the Train page's "Try it on photos" chooses it
TRAIN_DATA = "train_data"  # a manifest the Dataset page saved; the Train page opens on it as Data, once
COMPARE_SELECTED = "compare_selected"  # the runs Compare compares; the Train page's "Compare" ticks its run
TUTORIAL_PARAM = "replay"  # the query parameter naming the tutorial the home page's "Reproduce it" opens
