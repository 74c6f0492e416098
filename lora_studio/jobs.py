"""Run one training at a time as an `accelerate launch` subprocess: start, watch, stop, resume, list.

Everything lives on disk, never in a browser session: the run folder (config.yaml, status.json,
metrics.jsonl, train.log, samples/, the adapter) and one lock file, `outputs/.training.lock`, holding the
trainer's process group id. So closing or reloading the page neither stops nor loses a run, a restarted
studio finds it again, and a second Start gets a clear "busy" message instead of a second training
(there is no queue: one GPU, one run, the user decides what comes next).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .atomic import write_text_atomic
from .config import TrainConfig, load_config, save_config
from .console import LANG_ENV
from .epoch_adapters import is_intermediate
from .errors import UserError
from .runlog import STOP_FILE, read_metrics, read_status, request_stop
from .text import Text, is_key

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LOCK_FILE = ".training.lock"
LOG_FILE = "train.log"
FINAL_STATES = ("finished", "stopped", "failed")
NOT_RUNS = ("generated", "lessons")  # studio folders under outputs/ that are not training runs
STOP_GRACE_S = 30.0  # after a stop request, SIGTERM (the same clean stop) if the trainer has not exited


class TrainingBusy(UserError):
    """Another training holds the lock."""


@dataclass
class RunStatus:
    """What the studio shows about one run; `to_dict()` is the API's `training_status` answer."""

    run_dir: Path
    name: str
    state: str  # starting | running | finished | stopped | failed | none
    step: int = 0
    total_steps: int = 0
    epoch: int = 0
    message: str = ""
    adapter: Path | None = None
    alive: bool = False
    metrics: list[dict[str, Any]] = field(default_factory=list)
    samples: list[Path] = field(default_factory=list)
    log_tail: str = ""

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(run_dir=str(self.run_dir), adapter=str(self.adapter) if self.adapter else None,
                    samples=[str(p) for p in self.samples], progress=round(self.progress, 4))
        return data


# ---------------------------------------------------------------- processes


_children: dict[int, subprocess.Popen] = {}  # processes this interpreter started, reaped on every look


def _reap() -> None:
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def group_alive(pgid: int) -> bool:
    """True while any process of the trainer's process group exists (the launcher may exit before its child)."""
    _reap()
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited: it only waits for its parent to read the exit code
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# ---------------------------------------------------------------- reading a run


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    # tqdm redraws its bar with carriage returns and cursor moves: keep only the last drawing of each line.
    text = _ANSI.sub("", text)
    kept = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    return "\n".join([line for line in kept if line.strip()][-lines:])


def _last_error(log_tail: str) -> str:
    for line in reversed(log_tail.splitlines()):
        if line.startswith("error:") or "Error:" in line:
            return line.strip()
    return ""


def _adapter(run_dir: Path, status: dict) -> Path | None:
    named = status.get("adapter")
    if named and named != "None" and Path(named).is_file():
        return Path(named)
    # The final adapter, not a per-epoch one (<run>-000004.safetensors) that happens to sort first.
    found = sorted(p for p in run_dir.glob("*.safetensors") if not is_intermediate(p))
    return found[0] if found else None


def read_run(run_dir: Path, alive: bool, *, details: bool = True, log_lines: int = 40) -> RunStatus:
    """status.json + metrics.jsonl + samples + the log tail of one run folder."""
    run_dir = Path(run_dir)
    status = read_status(run_dir) or {}
    state = status.get("state") or ("starting" if alive else "none")
    log_tail = _tail(run_dir / LOG_FILE, log_lines) if details or not alive else ""
    keyed = status.get("message_text")  # the message's key, to show it in the reader's language
    message = Text.from_json(keyed) if keyed and is_key(keyed.get("key")) else status.get("message", "")
    if state not in FINAL_STATES and not alive and state != "none":
        # The process is gone but never said it ended: it crashed or was killed; the log says why.
        state = "failed"
        message = _last_error(log_tail) or Text("jobs.exited", log=run_dir / LOG_FILE)
    elif state == "none" and (run_dir / LOG_FILE).is_file():
        state, message = "failed", _last_error(log_tail) or Text("jobs.not_started", log=run_dir / LOG_FILE)
    return RunStatus(
        run_dir=run_dir, name=run_dir.name, state=state, step=int(status.get("step") or 0),
        total_steps=int(status.get("total_steps") or 0), epoch=int(status.get("epoch") or 0), message=message,
        adapter=_adapter(run_dir, status) if state in FINAL_STATES else None, alive=alive,
        metrics=read_metrics(run_dir) if details else [],
        samples=sorted((run_dir / "samples").glob("*.png")) if details else [], log_tail=log_tail,
    )


# ---------------------------------------------------------------- the jobs of one outputs/ folder


class Jobs:
    """Start / watch / stop / resume trainings whose run folders live in `outputs`."""

    def __init__(self, outputs: Path, cwd: Path | None = None) -> None:
        self.outputs = Path(outputs).resolve()
        self.cwd = Path(cwd).resolve() if cwd else self.outputs.parent
        self.lock_path = self.outputs / LOCK_FILE

    # ---- the lock

    def read_lock(self) -> dict | None:
        """The live lock, or None; a lock whose processes are all gone is removed."""
        try:
            lock = json.loads(self.lock_path.read_text(encoding="utf-8"))
            pid = int(lock["pid"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            lock, pid = None, 0
        # pid 0: the studio process `owner` is launching the trainer right now.
        owner = int(lock.get("owner") or 0) if lock else 0
        if lock is not None and (group_alive(pid) if pid > 0 else owner > 0 and _pid_alive(owner)):
            return lock
        self.lock_path.unlink(missing_ok=True)
        return None

    def _take_lock(self, run_dir: Path) -> None:
        for _ in range(2):
            held = self.read_lock()
            if held is not None:
                raise TrainingBusy("jobs.busy", name=Path(held["run_dir"]).name, pid=held["pid"])
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                continue  # someone else took it between our read and our create: report them
            with os.fdopen(fd, "w") as f:
                json.dump({"pid": 0, "owner": os.getpid(), "run_dir": str(run_dir), "started": time.time()}, f)
            return
        raise TrainingBusy("jobs.starting")

    def active(self) -> Path | None:
        lock = self.read_lock()
        return Path(lock["run_dir"]) if lock else None

    # ---- start / resume

    def new_run_name(self, name: str) -> str:
        """`name`, or `name-2`, `name-3`, ... when a run of that name already exists (`name-2` taken again goes on
        to `name-3`, not `name-2-2`)."""
        candidate, n = name, 1
        numbered = re.fullmatch(r"(.+)-(\d+)", name)
        if numbered and (self.outputs / numbered[1]).exists():  # a name the studio numbered: go on counting
            name, n = numbered[1], int(numbered[2])
        while (self.outputs / candidate).exists():
            n += 1
            candidate = f"{name}-{n}"
        return candidate

    def start(self, config: TrainConfig, command: list[str] | None = None, launcher_args: str = "") -> RunStatus:
        """Write `<run_dir>/config.yaml` and launch the trainer on it; TrainingBusy if one is running."""
        run_dir = (self.outputs / config.name).resolve()
        if run_dir.parent != self.outputs:  # '../x', '/abs/x', 'a/b': the run would land outside outputs/
            raise UserError("jobs.bad_run_name", name=config.name, outputs=self.outputs)
        if config.output_dir and Path(config.output_dir).resolve() != run_dir:
            raise UserError("jobs.output_dir_fixed", output_dir=config.output_dir, outputs=self.outputs)
        if (run_dir / "status.json").exists() or (run_dir / LOG_FILE).exists():
            raise UserError("jobs.run_exists", name=config.name, outputs=self.outputs)
        config = replace(config, output_dir=str(run_dir))
        self._take_lock(run_dir)
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_config(config, run_dir / "config.yaml")
            self._launch(run_dir, command or _train_command(run_dir / "config.yaml", [], launcher_args))
        except BaseException:
            self.lock_path.unlink(missing_ok=True)
            raise
        return self.status(run_dir)

    def resume(self, run: str | Path, command: list[str] | None = None, launcher_args: str = "") -> RunStatus:
        """Continue a stopped (or failed) run from its latest checkpoint, with the run's own config.yaml."""
        run_dir = self._run_dir(run)
        config_path = run_dir / "config.yaml"
        if not config_path.is_file():
            raise UserError("jobs.no_config", name=run_dir.name)
        state = read_run(run_dir, alive=self.active() == run_dir, details=False).state
        if state == "finished":
            raise UserError("jobs.already_finished", name=run_dir.name)
        load_config(config_path)  # a clear error now rather than in the log
        self._take_lock(run_dir)
        try:
            (run_dir / "status.json").unlink(missing_ok=True)  # the old "stopped" must not show as the new state
            self._launch(run_dir, command or _train_command(config_path, ["train.resume=latest"], launcher_args))
        except BaseException:
            self.lock_path.unlink(missing_ok=True)
            raise
        return self.status(run_dir)

    def _launch(self, run_dir: Path, command: list[str]) -> None:
        from .launch import trainer_env

        env = trainer_env()  # the studio checked this run before launching it (train_api.prepare)
        # The page rewrites the trainer's command-line advice (run_view) and says its own texts in the page's
        # language: the trainer logs in English whatever this computer's locale.
        env[LANG_ENV] = "en"
        with open(run_dir / LOG_FILE, "ab") as log:
            log.write(f"$ {' '.join(command)}\n".encode())
            log.flush()
            # A new session: the trainer survives the studio's Ctrl+C and we can signal its whole group.
            proc = subprocess.Popen(command, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        _children[proc.pid] = proc
        write_text_atomic(self.lock_path, json.dumps({"pid": proc.pid, "run_dir": str(run_dir),
                                                      "started": time.time()}))

    # ---- watch

    def _run_dir(self, run: str | Path | None) -> Path:
        if run in (None, ""):
            active = self.active()
            if active is not None:
                return active
            runs = self.list_runs()
            if not runs:
                raise UserError("jobs.no_runs")
            return runs[0].run_dir
        run_dir = Path(run)
        if not run_dir.is_absolute():
            run_dir = self.outputs / run_dir
        run_dir = run_dir.resolve()
        if run_dir.parent != self.outputs or not run_dir.is_dir():
            raise UserError("jobs.run_not_found", run=run, outputs=self.outputs)
        return run_dir

    def status(self, run: str | Path | None = None, log_lines: int = 40) -> RunStatus:
        """The given run, or the running one, or the newest one."""
        run_dir = self._run_dir(run)
        alive = self.active() == run_dir
        if not alive:  # started outside the studio (the CLI) but still going
            pid = (read_status(run_dir) or {}).get("pid")
            alive = bool(pid) and (read_status(run_dir) or {}).get("state") not in FINAL_STATES and _pid_alive(int(pid))
        return read_run(run_dir, alive, log_lines=log_lines)

    def list_runs(self) -> list[RunStatus]:
        """Every run folder, newest first, without metrics (cheap enough to call on each refresh)."""
        active = self.active()
        runs = [read_run(p, alive=p == active, details=False) for p in self.outputs.iterdir()
                if p.is_dir() and p.name not in NOT_RUNS and not p.name.startswith(".")
                and ((p / "config.yaml").is_file() or (p / "status.json").is_file())]
        return sorted(runs, key=lambda r: _mtime(r.run_dir), reverse=True)

    def adapters(self) -> list[Path]:
        return [r.adapter for r in self.list_runs() if r.adapter is not None]

    def wait(self, run: str | Path | None = None, timeout: float = 600.0, poll: float = 0.5) -> RunStatus:
        """Block until the run's processes are gone (for scripts and tests)."""
        run_dir = self._run_dir(run)
        deadline = time.monotonic() + timeout
        while self.active() == run_dir:
            if time.monotonic() > deadline:
                raise TimeoutError(f"run '{run_dir.name}' still running after {timeout:.0f} s")
            time.sleep(poll)
        return self.status(run_dir)

    # ---- stop

    def stop(self, grace_s: float = STOP_GRACE_S) -> str:
        """Ask the running trainer to save a checkpoint and the adapter, then exit; SIGTERM if it does not."""
        lock = self.read_lock()
        if lock is None:
            raise UserError("jobs.nothing_to_stop")
        run_dir, pid = Path(lock["run_dir"]), int(lock["pid"])
        request_stop(run_dir)
        if pid:
            threading.Thread(target=_enforce_stop, args=(run_dir, pid, grace_s), daemon=True).start()
        return (f"stop requested for run '{run_dir.name}': it saves a checkpoint and the adapter, then ends; "
                f"resume it later to continue")


def _enforce_stop(run_dir: Path, pgid: int, grace_s: float) -> None:
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        # A trainer still starting up clears old stop requests; repeat ours until it has ended.
        if not (run_dir / STOP_FILE).exists() and (read_status(run_dir) or {}).get("state") not in FINAL_STATES:
            request_stop(run_dir)
        time.sleep(0.5)
    try:
        os.killpg(pgid, signal.SIGTERM)  # the trainer treats SIGTERM like stop.request
    except ProcessLookupError:
        pass


def _mtime(path: Path) -> float:
    try:
        return max((path / name).stat().st_mtime for name in ("config.yaml", "status.json") if (path / name).exists())
    except ValueError:
        return path.stat().st_mtime


def _train_command(config_path: Path, overrides: list[str], launcher_args: str) -> list[str]:
    from .launch import accelerate_command

    return accelerate_command(config_path, overrides, launcher_args)
