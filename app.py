"""The Hugging Face Space's entry point: the woodmarket web app.

The Space is a Docker Space (see `Dockerfile` and `space/README.md`): its
image runs `scripts/setup`, which installs the bundled models' weights
(SmolLM2's package without its dependencies, which a requirements file
cannot say), then this file. Locally: `python app.py`, or `woodmarket app`.

Settings, from the environment: WOODMARKET_HOST (default 0.0.0.0, as a
Space needs), PORT (7860), WOODMARKET_CAST (standin), WOODMARKET_SCENARIO,
WOODMARKET_MAX_SESSIONS (8), WOODMARKET_IDLE_MINUTES (15), WOODMARKET_RUNS
(runs/app).
"""

from __future__ import annotations

import os

from woodmarket.app import launch


def main() -> None:
    env = os.environ.get
    launch(
        env("WOODMARKET_HOST", "0.0.0.0"),
        int(env("PORT", "7860")),
        cast=env("WOODMARKET_CAST", "standin"),
        scenario=env("WOODMARKET_SCENARIO") or None,
        cap=int(env("WOODMARKET_MAX_SESSIONS", "8")),
        idle_s=60 * float(env("WOODMARKET_IDLE_MINUTES", "15")),
        runs=env("WOODMARKET_RUNS", "runs/app"),
    )


if __name__ == "__main__":
    main()
