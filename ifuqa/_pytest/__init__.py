"""The thin pytest layer: options, parametrisation, fixtures, the recorder, the results
collector, pytest-html hooks and the regression-gate hooks. The entry point is
:mod:`ifuqa._pytest.plugin`; importing it loads only pytest and the standard library (everything
else is imported by the fixtures and hooks that need it). May import every layer of ifuqa.
"""
