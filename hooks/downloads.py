"""Ship the package with the site: ``docs/downloads/`` gets the wheel and every module of
``snippets/`` (see ``sitegen/package.py``); pages link them as ``downloads/<file>``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

from sitegen.package import publish  # noqa: E402


def on_pre_build(config):
    publish(config["docs_dir"])
