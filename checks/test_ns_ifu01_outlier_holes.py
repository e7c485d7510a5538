"""NS-IFU01: no hole at the PSF peak, PSF-core pixels not flagged, warm pixels and cosmic rays
caught."""

import pytest

from ifuqa.evaluate import ns_ifu01

pytestmark = pytest.mark.ns_ifu01


def test_no_hole_at_psf_peak(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The PSF has no central depression in any wavelength bin of the cube."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU01", ns_ifu01.hole, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_psf_peak_depth_against_reference(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The PSF peak is as high as in a cube built without outlier rejection (synthetic)."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU01", ns_ifu01.peak_depth, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_psf_core_not_flagged(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """Outlier detection leaves the PSF core alone."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU01", ns_ifu01.core_flags, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_outliers_caught(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """Injected warm pixels (outliers recurring in every dither) above 10 sigma are flagged
    (synthetic)."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU01", ns_ifu01.warm_pixel_flags, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_cosmic_rays_caught(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """Cosmic rays above 10 sigma are flagged by jump detection or outlier detection (synthetic
    scenes simulated with ramps)."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU01", ns_ifu01.cosmic_ray_flags, ifuqa_dataset,
                                           ifuqa_thresholds))
