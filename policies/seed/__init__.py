"""The seed's canonical policies, shipped as package data for demo data, tests and API examples."""

from importlib import resources

SCENARIOS = ("1", "2", "2a", "3", "4")


def seed_text(name: str) -> str:
    """The YAML text of a seed file, e.g. ``seed_text("scenario-2")``."""
    return resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
