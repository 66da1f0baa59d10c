"""Root of the test suite: shared fixtures live in per-area modules registered here."""

pytest_plugins = [
    "tests.fixtures.seed",
    "tests.fixtures.api",
    "tests.fixtures.cluster",
    "tests.fixtures.clusters",
    "tests.fixtures.console",
    "tests.fixtures.reviews",
    "tests.fixtures.review_plans",
    "tests.fixtures.jobs",
]
