"""Errors of the review dashboard, a branch of the rightswatch tree (rightswatch/errors.py).

    RightswatchError
    └── ReviewError                 the review dashboard refused or failed an action
        ├── UnsafeBind              a non-loopback address without a token
        ├── PathRefused             a file outside the evidence folder was asked for
        ├── DecisionRefused         a decision that the finding's state does not allow
        └── AllowlistError          the creator could not be added to watch.toml

The web app turns them into 4xx pages; the command turns them into one line.
"""

from __future__ import annotations

from rightswatch.errors import RightswatchError


class ReviewError(RightswatchError):
    """Root of the review dashboard's errors."""

    status_code = 400


class UnsafeBind(ReviewError):
    """The server would listen beyond this machine with no token to keep strangers out."""

    exit_code = 2

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(
            f"refusing to serve the review dashboard on {host}: a non-loopback address needs "
            "a token (--token-file, RIGHTSWATCH_REVIEW_TOKEN_FILE or RIGHTSWATCH_REVIEW_TOKEN)"
        )


class PathRefused(ReviewError):
    """A requested file lies outside the evidence folder, or does not exist."""

    status_code = 404

    def __init__(self, requested: str, reason: str) -> None:
        self.requested = requested
        self.reason = reason
        super().__init__(f"{requested!r}: {reason}")


class DecisionRefused(ReviewError):
    """A decision the finding's current state does not allow."""

    status_code = 409

    def __init__(self, finding_id: int, reason: str) -> None:
        self.finding_id = finding_id
        self.reason = reason
        super().__init__(f"finding {finding_id}: {reason}")


class AllowlistError(ReviewError):
    """watch.toml could not be updated with an allowlisted creator."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
