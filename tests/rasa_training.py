"""Rasa's training, started in the background as soon as pytest knows that end-to-end tests will
run, at the lowest CPU priority: the tests before them run while it trains, and the e2e hub
waits only for what is left (a fresh clone trains for minutes)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

from bot.rasa.train import TrainingFailed, latest_model, train_command
from bot.settings import Settings


def _lowest_priority() -> None:
    os.nice(19)


class BackgroundTraining:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.log = settings.var_dir / "rasa-train.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = train_command(self.settings)
        flock = shutil.which("flock")
        if flock:  # two test runs at once: the second waits, then finds the model up to date
            command = [flock, str(self.settings.models_dir / ".training"), *command]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                cwd=self.settings.rasa_project,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_lowest_priority,
            )

    async def model(self) -> Path:
        """The trained model, once the background training is done."""
        if self.process is None:
            raise TrainingFailed("the background training was never started")
        code = await asyncio.to_thread(self.process.wait)
        model = latest_model(self.settings.models_dir)
        if code != 0 or model is None:
            raise TrainingFailed(f"rasa train failed with exit code {code}: see {self.log}")
        return model

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
