import warnings

import pytest

from skconvexnn.exceptions import SolverLicenseWarning


@pytest.fixture(autouse=True)
def _quiet_licence_warning():
    """Machines with an unlicensed MOSEK warn on every routed fit; that warning
    is tested on its own in test_conic.py."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverLicenseWarning)
        yield
