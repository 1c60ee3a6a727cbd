"""One exception tree for everything gitexp reports to a user.

Each class stands for one condition a user or a script would handle differently. An
error carries the message a user reads (what failed, which object, what to do), an
optional one-line hint, the exit code the CLI returns and a stable ``kind`` that
``--json`` output names. Bugs are not ``GitexpError``: they surface with a traceback.
"""

from __future__ import annotations


class GitexpError(Exception):
    """The root of every error gitexp reports to a user."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(GitexpError):
    """The command line itself is wrong: an unknown flag, a missing argument."""

    exit_code = 2
    kind = "usage"


class NotARepositoryError(GitexpError):
    """The folder is not inside a git repository."""

    kind = "not_a_repository"


class NoCommitsError(GitexpError):
    """The repository has no commit yet, so there is no baseline to run from."""

    kind = "no_commits"


class FormatError(GitexpError):
    """A file or value gitexp reads is malformed: YAML, JSON, TOML, a pointer, a manifest."""

    kind = "format"


class ConfigError(FormatError):
    """``gitexp.yaml`` or the local config holds something gitexp cannot use."""

    kind = "config"


class GoalError(GitexpError):
    """A command must rank by a metric whose direction (max or min) nobody declared."""

    kind = "goal"


class ParamsError(GitexpError):
    """A params override names a key or file that does not exist, or a value is wrong."""

    kind = "params"


class NotFoundError(GitexpError):
    """An experiment, ref, commit, path or object that was named does not exist."""

    kind = "not_found"


class ConflictError(GitexpError):
    """Something changed under us, or a name is taken: a lost compare-and-swap race."""

    kind = "conflict"


class InvalidNameError(GitexpError):
    """An experiment or branch name that git or gitexp cannot use."""

    kind = "invalid_name"


class CommandError(GitexpError):
    """The command to run cannot be started (not found, not executable, none given)."""

    kind = "command"


class RunFailedError(GitexpError):
    """The experiment's command ran and failed; the experiment was still recorded."""

    kind = "run_failed"


class UncommittedChangesError(GitexpError):
    """The action would overwrite work that is not committed anywhere."""

    kind = "uncommitted"


class IntegrityError(GitexpError):
    """Bytes do not match the hash that names them: a corrupt object or transfer."""

    kind = "integrity"


class StorageError(GitexpError):
    """A storage remote failed: unreachable, refused, missing bucket, bad credentials."""

    kind = "storage"


class TransportError(GitexpError):
    """A git remote failed while moving refs (fetch or push)."""

    kind = "transport"


class PathError(GitexpError):
    """A path is outside the repository, escapes through a symlink, or is not allowed."""

    kind = "path"


class Interrupted(GitexpError):
    """The user interrupted the command (Ctrl-C)."""

    exit_code = 130
    kind = "interrupted"


class LayoutError(GitexpError):
    """A local cache or storage remote is laid out in a version this gitexp does not know.

    Nothing is written to it: a newer gitexp may have made it, and an older one
    writing there could damage what the newer one relies on.
    """

    kind = "layout"


class MissingExtraError(GitexpError, ImportError):
    """An optional part of gitexp needs a package that is not installed.

    An `ImportError` too, so code that guards an optional import keeps working.
    """

    kind = "missing_extra"
