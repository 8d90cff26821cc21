"""The web app: the financier's game in a browser, and the article's Table 1 beside it.

    session.py     one wood per browser session; the cap, the queue, idle cleanup
    view.py        the page's HTML from a session (every text escaped)
    experiment.py  the experiment tab's sweep, table, plots and Parquet export
    ui.py          the Gradio page (imported only by `build_app`)

The engine imports without Gradio: only `build_app` and `launch` import it,
inside the function. `woodmarket app` and the repository's `app.py` (the
Hugging Face Space) both call `launch`.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import TYPE_CHECKING, Any

from woodmarket.app.session import DEFAULT_CAP, DEFAULT_IDLE_S, Sessions
from woodmarket.types import Sampling

if TYPE_CHECKING:
    import gradio

__all__ = ["DEFAULT_CAP", "DEFAULT_IDLE_S", "Sessions", "build_app", "launch", "loopback"]


def build_app(sessions: Sessions | None = None) -> gradio.Blocks:
    """The Gradio Blocks of the app, wired to `sessions` (a fresh set when None)."""
    try:
        from woodmarket.app import ui
    except ImportError as exc:
        from woodmarket.errors import WoodmarketError

        raise WoodmarketError(
            f"the web app needs Gradio ({exc.name} is missing): "
            "pip install -e '.[app]' (scripts/setup installs it)"
        ) from None
    if sessions is None:  # (not `or`: a Sessions with no one in it is falsy)
        sessions = Sessions()
    demo = ui.build(sessions)
    # Turns of different sessions run side by side; one session's turns never do.
    demo.queue(default_concurrency_limit=2 * sessions.cap)
    return demo


def loopback(host: str) -> bool:
    """Whether `host` only listens to this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def launch(
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    cast: str = "standin",
    scenario: str | None = None,
    cap: int = DEFAULT_CAP,
    idle_s: float = DEFAULT_IDLE_S,
    runs: str = "runs/app",
    block: bool = True,
    quiet: bool = False,
    sampling: Sampling | None = None,
    thoughts: bool = False,
) -> tuple[Any, Sessions]:
    """Serve the app; returns (the Blocks, the sessions) when `block` is False."""
    from woodmarket.app.view import CSS

    if not loopback(host):
        print(
            f"woodmarket: warning: serving on {host}, reachable from other machines; "
            "anyone who can reach it can play (sessions are capped at "
            f"{cap}); use --host 127.0.0.1 to keep it to this machine",
            file=sys.stderr,
        )
    sessions = Sessions(
        cap=cap,
        idle_s=idle_s,
        runs=runs,
        cast=cast,
        scenario=scenario,
        sampling=sampling,
        thoughts=thoughts,
    )
    sessions.start_reaper(min(30.0, max(1.0, idle_s / 4)))
    demo = build_app(sessions)
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            prevent_thread_lock=not block,
            quiet=quiet,
            css=CSS,
            footer_links=[],
            show_error=False,
            share=False,
        )
    finally:
        if block:
            sessions.close_all()
    return demo, sessions
