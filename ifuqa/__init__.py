"""ifuqa: quality assurance for JWST NIRSpec IFU data products.

A pytest plugin plus library that simulates undersampled NIRSpec IFU scenes with known truth,
processes them with the jwst package's own algorithms, and checks the known NIRSpec IFU
processing issues (NS-IFU01..06) on simulated data and on a user's own products.

Heavy dependencies (jwst, astropy, scipy) are imported lazily by the submodules that need them,
so that importing :mod:`ifuqa` (and loading the pytest plugin) stays cheap.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
