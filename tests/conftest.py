"""Project test configuration."""

pytest_plugins = ["pytester"]
