"""The install line the pages show (``[[gen pages.package:...]]``)."""

import re

from sitegen.package import ROOT, wheel_name


def site_url() -> str:
    """``site_url`` of mkdocs.yml, where the site (and so the wheel) is published."""
    match = re.search(r"^site_url:\s*(\S+)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)
    return match[1].rstrip("/") + "/"


def wheel(lang: str) -> str:
    """The wheel's file name, e.g. ``conv_atlas-0.2.0-py3-none-any.whl``."""
    return wheel_name()


def install_command(lang: str) -> str:
    """One command, run in any directory: the wheel as published with the site."""
    return f"pip install {site_url()}downloads/{wheel_name()}"
