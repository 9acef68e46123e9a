"""Sandboxes: where the ``code`` verifier runs candidate programs.

A sandbox is anything with ``run(job, judge=None) -> RunResult`` (and optionally
``run_many`` and ``close``). Sandboxes are registered by name through the
``register_sandboxes`` hook; the built-in one is ``"local"``
(:class:`grpo_rewards.sandbox.local.LocalSandbox`), and remote services (SandboxFusion,
Piston, E2B, ...) are plugin material. See docs/sandbox.md.

The split of work is fixed so that results cannot be forged: a sandbox receives the program,
the test *inputs* (stdin text, call arguments) or the assert test code, and returns what
happened per case (program output, the call's return value as plain data, whether the assert
test code ran to completion). Expected outputs never enter the sandbox; the verifier compares
them outside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from grpo_rewards.errors import FatalRewardError, GrpoRewardsError

__all__ = [
    "SandboxFaultError",
    "Limits",
    "Job",
    "CaseResult",
    "RunResult",
    "Sandbox",
    "SandboxUnavailable",
    "KINDS",
    "LANGUAGES",
    "get_sandbox",
]

LANGUAGES = ("python", "c", "cpp", "javascript")
KINDS: dict[str, tuple[str, ...]] = {
    "python": ("assert", "stdio", "call"),
    "javascript": ("assert", "stdio"),
    "c": ("stdio",),
    "cpp": ("stdio",),
}
"""The test kinds each language's jobs can have (C and C++ programs have no assert harness;
C, C++ and JavaScript need gcc, g++ and node)."""


class SandboxUnavailable(GrpoRewardsError, RuntimeError):
    """The sandbox cannot run as asked (strict mode with an isolation layer missing, a missing
    toolchain, ...). The message names the layer or tool and what to do.

    A :class:`~grpo_rewards.GrpoRewardsError`, so that ``except GrpoRewardsError`` (and the
    command lines) report it; still a ``RuntimeError`` for code that caught it as one."""


class SandboxFaultError(SandboxUnavailable, FatalRewardError):
    """A strict sandbox failed (it could not start, or a worker faulted mid-job). Raised through
    the :class:`~grpo_rewards.RewardSet` to the caller rather than scored ``error``."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one job. Per-case limits apply to each test case's run.

    :param wall_s: wall-clock seconds per case (per candidate process).
    :param total_s: wall-clock seconds for the whole job (all cases).
    :param cpu_s: CPU seconds per candidate process (``RLIMIT_CPU``).
    :param memory_mb: address space per process in MiB (``RLIMIT_AS``).
    :param processes: extra processes/threads a run may start (``RLIMIT_NPROC``).
    :param file_mb: largest file a run may write, MiB (``RLIMIT_FSIZE``).
    :param disk_mb: size of the private scratch dir and of the private /tmp, MiB each (tmpfs).
    :param output_bytes: stdout kept per case (more is a failure), and largest RPC answer.
    :param compile_s: wall-clock seconds for compiling C/C++.
    """

    wall_s: float = 5.0
    total_s: float = 30.0
    cpu_s: float = 5.0
    memory_mb: int = 1024
    processes: int = 32
    file_mb: int = 16
    disk_mb: int = 64
    output_bytes: int = 1 << 20
    compile_s: float = 30.0

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Job:
    """One program and its tests, as a sandbox sees them (never the expected answers).

    :param language: one of :data:`LANGUAGES`.
    :param kind: ``"assert"``, ``"stdio"`` or ``"call"``.
    :param code: the candidate program.
    :param test_code: for ``assert``: test code run after the program.
    :param inputs: for ``stdio``: stdin text per case.
    :param fn_name: for ``call``: the function to call.
    :param args: for ``call``: per case, a ``(args, kwargs)`` pair of plain data.
    :param limits: resource limits.
    :param early_stop: stop at the first failing case (the ``judge`` decides what failing is).
    """

    language: str
    kind: str
    code: str
    test_code: str = ""
    inputs: Sequence[str] = ()
    fn_name: str = ""
    args: Sequence[tuple[list[Any], dict[str, Any]]] = ()
    limits: Limits = field(default_factory=Limits)
    early_stop: bool = False

    def __post_init__(self) -> None:
        if self.language not in KINDS:
            raise ValueError(f"Job.language must be one of {', '.join(KINDS)}, got {self.language!r}")
        if self.kind not in KINDS[self.language]:
            raise ValueError(
                f"Job.kind {self.kind!r} is not supported for {self.language}; supported: "
                f"{', '.join(KINDS[self.language])} (a C/C++ assert job could never pass)"
            )


@dataclass
class CaseResult:
    """What happened in one case.

    :param index: case number.
    :param passed: for ``assert`` tests, whether the test code ran to completion (decided in the
        sandbox's trusted tester); ``None`` where the verifier decides by comparing.
    :param stdout: for ``stdio``: the program's output (possibly truncated).
    :param value: for ``call``: the return value (plain data; non-plain values arrive as
        :class:`grpo_rewards.sandbox._inside.wire.Opaque`).
    :param has_value: whether ``value`` was produced.
    :param error: why the case failed (exception, crash, limit), if it did.
    :param timeout: the case hit a time limit.
    :param skipped: the case did not run (early stop, job time limit).
    :param exit_code: the process's exit status (``stdio``), or ``None``.
    :param signal: the signal that killed it, or ``None``.
    :param truncated: output exceeded ``Limits.output_bytes``.
    """

    index: int
    passed: bool | None = None
    stdout: str = ""
    value: Any = None
    has_value: bool = False
    error: str = ""
    timeout: bool = False
    skipped: str = ""
    exit_code: int | None = None
    signal: int | None = None
    truncated: bool = False


@dataclass
class RunResult:
    """The outcome of one :class:`Job`.

    :param cases: per-case results, in order.
    :param compile_error: compiler output when C/C++ failed to compile.
    :param error: a sandbox failure (not the candidate's fault), if any.
    :param timed_out: the job hit ``Limits.total_s``.
    :param bad_tests: why the test code itself cannot run (e.g. it does not compile), if so:
        the row's fault, not the candidate's.
    :param stalled: see below.
    """

    cases: list[CaseResult] = field(default_factory=list)
    compile_error: str | None = None
    error: str | None = None
    timed_out: bool = False
    bad_tests: str | None = None
    stalled: bool = False
    """The host stopped the job at its deadline (``Limits.total_s`` plus a small slack): the
    tester never finished it, because of what the candidate did (a value the test code could
    not finish with, a C-level loop it triggered). ``timed_out`` is set too: a candidate's
    stall is its timeout, never "no signal"."""


Judge = Callable[[CaseResult], bool]
"""Called with each case result as it arrives; returns whether the case passed (used for early stop)."""


@runtime_checkable
class Sandbox(Protocol):
    """What the ``code`` verifier needs from a sandbox backend."""

    def run(self, job: Job, judge: Judge | None = None) -> RunResult:
        """Run one job; call ``judge`` on each case as it completes (early stop uses its answer)."""
        ...


def get_sandbox(name: str = "local", **options: Any) -> Any:
    """Create the sandbox registered as ``name`` with ``options`` (see the ``register_sandboxes`` hook)."""
    from grpo_rewards.plugins import get_registry

    entry = get_registry().get("sandbox", name)
    return entry.factory(**options)
