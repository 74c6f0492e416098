"""What a run tells the outside world: `status.json`, `metrics.jsonl`, and the stop request.

The studio (and anyone with `tail -f`) watches these files; they are the only channel between a
training process and its observers, so a reloaded page or a second browser sees the same run.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from .atomic import write_failure, write_text_atomic
from .errors import UserError
from .text import Text

log = logging.getLogger("lora_studio.train")

STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
STOP_FILE = "stop.request"


class RunLog:
    """Writes the status and metrics of one run; only the main process should hold one."""

    def __init__(self, run_dir: Path, total_steps: int = 0) -> None:
        self.run_dir = Path(run_dir)
        self.total_steps = total_steps
        self.status: dict[str, Any] = {"state": "starting", "step": 0, "total_steps": total_steps, "epoch": 0,
                                       "message": "", "adapter": None, "pid": os.getpid()}
        self._last_write = 0.0

    def update(self, force: bool = True, **fields: Any) -> None:
        if "message" in fields:  # a keyed message keeps its key, so the studio shows it in the reader's language
            message = fields["message"]
            fields["message_text"] = message.to_json() if isinstance(message, Text) else None
        self.status.update(fields)
        self.status["total_steps"] = self.total_steps
        now = time.time()
        if force or now - self._last_write > 1.0:  # rate-limit the per-step writes
            self.status["updated"] = now
            try:
                write_text_atomic(self.run_dir / STATUS_FILE, json.dumps(self.status, indent=1))
            except OSError as e:
                raise UserError("train.write_failed_resume",
                                failure=write_failure(e, "io.what_status", self.run_dir / STATUS_FILE)) from None
            self._last_write = now

    def fail(self, message: str | Text) -> None:
        """Record a failure if the disk still lets us; the message reaches the user through the error anyway."""
        try:
            self.update(state="failed", message=message)
        except UserError as e:
            log.warning("%s", e)

    def metrics(self, row: dict[str, Any]) -> None:
        # Appending one line is atomic enough for a reader; a torn last line is skipped by read_metrics.
        try:
            with open(self.run_dir / METRICS_FILE, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
        except OSError as e:
            raise UserError("train.write_failed_resume",
                            failure=write_failure(e, "io.what_loss_log", self.run_dir / METRICS_FILE)) from None


def read_status(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(run_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        lines = (Path(run_dir) / METRICS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return rows
    for line in lines:
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def truncate_metrics(run_dir: Path, after_step: int) -> None:
    """On resume, drop rows logged after the checkpoint so the curve has no duplicate steps."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return
    rows = [r for r in read_metrics(run_dir) if r.get("step", 0) <= after_step]
    write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))


def stop_requested(run_dir: Path) -> bool:
    return (Path(run_dir) / STOP_FILE).exists()


def request_stop(run_dir: Path) -> None:
    write_text_atomic(Path(run_dir) / STOP_FILE, str(time.time()))


def clear_stop(run_dir: Path) -> None:
    (Path(run_dir) / STOP_FILE).unlink(missing_ok=True)
