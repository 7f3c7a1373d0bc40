"""Train the Rasa model with Rasa's own CLI; Rasa's fingerprinting skips unchanged data."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.rasa.process import rasa_executable
from bot.settings import Settings


class TrainingFailed(RuntimeError):
    pass


def latest_model(models_dir: Path) -> Path | None:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def train_command(settings: Settings, force: bool = False) -> list[str]:
    """`rasa train` for the project in `settings`, writing the model to its models folder."""
    project = settings.rasa_project
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(rasa_executable(settings)),
        "train",
        "--config",
        str(project / "config.yml"),
        "--domain",
        str(project / "domain.yml"),
        "--data",
        str(project / "data"),
        "--out",
        str(settings.models_dir),
    ]
    return [*cmd, "--force"] if force else cmd


async def train(settings: Settings, force: bool = False, echo: bool = True) -> Path:
    """Run `rasa train`; its progress bars go to our terminal. Returns the model file."""
    output = None if echo else asyncio.subprocess.DEVNULL
    process = await asyncio.create_subprocess_exec(
        *train_command(settings, force),
        cwd=str(settings.rasa_project),
        stdout=output,
        stderr=output if not echo else sys.stderr,
    )
    code = await process.wait()
    model = latest_model(settings.models_dir)
    if code != 0 or model is None:
        raise TrainingFailed(f"rasa train failed with exit code {code}")
    return model
