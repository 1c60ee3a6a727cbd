"""``gitexp bisect GOOD BAD --metric KEY --threshold X``: the commit that made a metric worse.

Along the first-parent history from GOOD to BAD, a commit is *bad* when its metric is
worse than the threshold by the metric's goal (below it for ``max``, above it for
``min``). A commit that already has a successful experiment without overrides is
judged by it, for free; any other is run in a worktree and recorded as an experiment
(named ``bisect-<commit>``), so the next bisect reuses it too. BAD is judged first
(nothing is blamed when it is not bad), GOOD is taken as good, and the commits
already judged narrow the range before the binary search: at most
``ceil(log2(n)) + 1`` runs for ``n`` commits after GOOD.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pygit2

from gitexp.core.goals import Direction, Goal, resolve_goal
from gitexp.core.results import JsonResult
from gitexp.errors import Interrupted, NotFoundError, RunFailedError
from gitexp.experiments.lifecycle.oncluster import on_executor
from gitexp.experiments.lifecycle.rerun import Context, Rerun, command_of, run_again
from gitexp.experiments.lifecycle.verdicts import Known, known_values, metric_of
from gitexp.experiments.query.summary import Reader
from gitexp.git.repo import GitRepo
from gitexp.project import Project, config_at


@dataclass(frozen=True, slots=True)
class BisectStep(JsonResult):
    """One commit judged: its metric, whether it is bad, which experiment said so."""

    commit: str
    subject: str
    value: float
    bad: bool
    experiment: str
    ran: bool
    """True when bisect ran it; False when an experiment recorded before was reused."""

    def to_json(self) -> dict[str, object]:
        """The step as ``bisect --json`` prints it."""
        return {
            "commit": self.commit,
            "subject": self.subject,
            "value": self.value,
            "bad": self.bad,
            "experiment": self.experiment,
            "ran": self.ran,
        }


@dataclass(frozen=True, slots=True)
class BisectResult(JsonResult):
    """The first bad commit and how it was found (``steps`` in the order they were taken)."""

    metric: str
    goal: Direction
    threshold: float
    good: str
    bad: str
    commits: int
    first_bad: BisectStep
    steps: tuple[BisectStep, ...]

    @property
    def runs(self) -> int:
        """How many experiments bisect ran (the others were reused)."""
        return sum(step.ran for step in self.steps)

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {
            "metric": self.metric,
            "goal": self.goal,
            "threshold": self.threshold,
            "good": self.good,
            "bad": self.bad,
            "commits": self.commits,
            "first_bad": self.first_bad.to_json(),
            "runs": self.runs,
            "experiments": [step.experiment for step in self.steps],
            "steps": [step.to_json() for step in self.steps],
        }


@dataclass(frozen=True)
class Search:
    """What to look for: the metric, the line it must not cross, and which way is better."""

    metric: str
    threshold: float
    goal: Direction | None = None
    command: Sequence[str] = ()


def bisect(project: Project, good: str, bad: str, search: Search, ctx: Context) -> BisectResult:
    """Find the first commit after ``good`` up to ``bad`` whose metric is bad.

    Raises `NotFoundError` when GOOD is not on BAD's first-parent history or BAD is
    not bad (nothing to blame), `GoalError` when the metric's goal is unknown, and
    `RunFailedError` when a run needed to judge a commit failed or lacks the metric.
    """
    git = project.git
    path = first_parent_path(git, git.resolve_commit(good), git.resolve_commit(bad))
    goal = resolve_goal(search.metric, project.config.goals, search.goal)
    known = known_values(project, {str(c.id) for c in path}, search.metric)
    with on_executor(project, ctx) as on_cluster:  # one cluster for every commit judged
        judge = _Judge(project, search, goal, known, on_cluster)
        return _search(path, bad, search, goal, judge)


def _search(
    path: list[pygit2.Commit], bad: str, search: Search, goal: Goal, judge: _Judge
) -> BisectResult:
    """Judge BAD, then halve the range that the commits judged before leave."""
    steps = [judge(path[-1])]
    if not steps[0].bad:
        raise NotFoundError(
            f"BAD ({bad}, {path[-1].short_id}) is not worse than the threshold: "
            f"{search.metric} = {steps[0].value:g}, {_rule(goal.direction, search.threshold)} "
            "is bad; nothing to blame",
            hint="check --threshold and --goal, or name a later BAD commit",
        )
    low, high = _narrow(path, judge.known, lambda v: _is_bad(v, goal.direction, search.threshold))
    while high - low > 1:
        middle = (low + high) // 2
        steps.append(judge(path[middle]))
        low, high = (low, middle) if steps[-1].bad else (middle, high)
    first = steps[-1] if str(path[high].id) == steps[-1].commit else judge(path[high])
    return BisectResult(
        metric=search.metric,
        goal=goal.direction,
        threshold=search.threshold,
        good=str(path[0].id),
        bad=str(path[-1].id),
        commits=len(path) - 1,
        first_bad=first,
        steps=tuple(steps),
    )


def first_parent_path(git: GitRepo, good: pygit2.Commit, bad: pygit2.Commit) -> list[pygit2.Commit]:
    """The commits from ``good`` to ``bad`` along first parents, oldest first."""
    chain = [bad]
    while chain[-1].id != good.id:
        parents = chain[-1].parents
        if not parents:
            raise NotFoundError(
                f"GOOD ({good.short_id}) is not on the first-parent history of BAD "
                f"({bad.short_id})",
                hint="name a GOOD commit that `git log --first-parent BAD` lists",
            )
        chain.append(parents[0])
    if len(chain) < 2:
        raise NotFoundError("GOOD and BAD are the same commit", hint="name a later BAD commit")
    return list(reversed(chain))


def _narrow(
    path: Sequence[pygit2.Commit], known: dict[str, Known], bad: Callable[[float], bool]
) -> tuple[int, int]:
    """The range (last good, first bad) that commits already judged leave to search."""
    verdicts = {i: bad(known[str(c.id)].value) for i, c in enumerate(path) if str(c.id) in known}
    high = min((i for i, is_bad in verdicts.items() if is_bad and i > 0), default=len(path) - 1)
    low = max((i for i, is_bad in verdicts.items() if not is_bad and i < high), default=0)
    return low, high


def _is_bad(value: float, direction: Direction, threshold: float) -> bool:
    return value < threshold if direction == "max" else value > threshold


def _rule(direction: Direction, threshold: float) -> str:
    return f"below {threshold:g}" if direction == "max" else f"above {threshold:g}"


class _Judge:
    """Judges commits: from an experiment recorded before, else by running one."""

    def __init__(
        self, project: Project, search: Search, goal: Goal, known: dict[str, Known], ctx: Context
    ) -> None:
        self.project, self.search, self.goal, self.known, self.ctx = (
            project,
            search,
            goal,
            known,
            ctx,
        )

    def __call__(self, commit: pygit2.Commit) -> BisectStep:
        sha = str(commit.id)
        subject = commit.message.split("\n", 1)[0]
        found = self.known.get(sha)
        ran = found is None
        if found is None:
            found = self._run(commit)
            self.known[sha] = found
        bad = _is_bad(found.value, self.goal.direction, self.search.threshold)
        return BisectStep(sha, subject, found.value, bad, found.experiment, ran)

    def _run(self, commit: pygit2.Commit) -> Known:
        git = self.project.git
        config = config_at(git, commit.tree)
        rerun = Rerun(
            name=f"bisect-{str(commit.id)[:12]}",
            base=commit,
            start=commit,
            config=config,
            command=command_of(self.search.command, config),
            message=f"bisect {self.search.metric} at {str(commit.id)[:12]}",
        )
        result = run_again(self.project, rerun, self.ctx)
        name = result.name
        value = metric_of(Reader(git).summary(result.commit), self.search.metric)
        if result.status == "interrupted":
            raise Interrupted(f"interrupted; the run of {commit.short_id} was recorded as '{name}'")
        if result.status != "success" or value is None:
            why = f"ended {result.status}" if result.status != "success" else "has no number"
            raise RunFailedError(
                f"the run of commit {commit.short_id} (experiment '{name}') {why} "
                f"for {self.search.metric}, so bisect cannot judge it",
                hint=f"see `git show refs/experiments/{name}:.gitexp/output.log`; bisect a "
                "range where the command runs",
            )
        return Known(value, name)
