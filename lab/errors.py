"""The one exception type for mistakes a user can make or fix.

Pages show a `LabError` with `st.error`, the CLI prints it on one line and exits non-zero; neither
shows a traceback. Its message says what happened and what to do about it. Anything else that
escapes is a bug in the lab, and keeps its traceback.
"""


class LabError(Exception):
    """A user-facing error whose message says what happened and what to do."""
