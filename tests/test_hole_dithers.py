"""NS-IFU01's truth-free hole metric and the number of dither positions in the cube.

With fewer than 4 dither positions resampling alone dents the undersampled PSF core by up to
16.8 % (explore finding 4: a clean 2-point nod read 16.8 ± 0.4 % and failed the 10 % limit). That
dent enters the uncertainty as a systematic term: a clean cube from a 2-point nod is "could not
decide", a hole deeper than resampling can make still fails, and a 4-point dither is judged on
its statistical uncertainty alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from ifuqa.builds.analytic_products import PointCubeSpec, write_point_cube
from ifuqa.evaluate import NotApplicable, ns_ifu01
from ifuqa.evaluate._common import dither_positions
from ifuqa.products.dataset import Dataset
from ifuqa.verdicts.thresholds import Thresholds

TH = Thresholds.defaults()
SMALL = {"shape": (60, 31, 31), "wave_range_um": (3.4, 3.5), "flux_jy": 1e-3}


def _cube(tmp_path: Path, name: str, *, points: int | None, hole: float = 0.0) -> Path:
    path = write_point_cube(tmp_path / f"{name}_s3d.fits",
                            PointCubeSpec(**SMALL, hole_depth=hole, noise_fraction=1e-4))
    if points is not None:
        fits.setval(path, "NUMDTHPT", value=points)
    return path


def _cal(tmp_path: Path, name: str, patt_num: int | None) -> Path:
    path = tmp_path / f"{name}_cal.fits"
    header = fits.Header()
    if patt_num is not None:
        header["PATT_NUM"] = patt_num
    fits.PrimaryHDU(header=header).writeto(path)
    return path


def test_positions_come_from_the_cal_files_then_the_cube(tmp_path: Path) -> None:
    cube = _cube(tmp_path, "c", points=4)
    # one position on two detectors (the NS-IFU05 defect: only the first dither is combined)
    cals = [_cal(tmp_path, "a_nrs1", 1), _cal(tmp_path, "a_nrs2", 1)]
    assert dither_positions(Dataset("d", cal=cals, s3d=[cube]))[0] == 1
    cals.append(_cal(tmp_path, "b_nrs1", 2))
    assert dither_positions(Dataset("d", cal=cals, s3d=[cube]))[0] == 2
    assert dither_positions(Dataset("d", s3d=[cube])) == (4, "NUMDTHPT of c_s3d.fits")
    # a cal file without PATT_NUM: the cube's header decides
    unknown = [*cals, _cal(tmp_path, "x", None)]
    assert dither_positions(Dataset("d", cal=unknown, s3d=[cube]))[0] == 4
    bare = _cube(tmp_path, "bare", points=None)
    positions, why = dither_positions(Dataset("d", s3d=[bare]))
    assert positions is None and "NUMDTHPT" in why


@pytest.mark.parametrize(("points", "hole", "verdict"), [
    (4, 0.0, "pass"),        # fully sampled, clean
    (4, 0.4, "fail"),        # fully sampled, a 40 % hole
    (2, 0.0, "undecided"),   # a clean 2-point nod: resampling could dent it by 16.8 %
    (2, 0.5, "fail"),        # a hole deeper than resampling can make
])
def test_fewer_than_4_positions_widen_the_hole_uncertainty(tmp_path: Path, points: int,
                                                           hole: float, verdict: str) -> None:
    dataset = Dataset("d", s3d=[_cube(tmp_path, "c", points=points, hole=hole)])
    result = ns_ifu01.hole(dataset, TH)
    assert result.verdict == verdict, result.describe()
    assert result.evidence["dither_positions"] == points
    systematic = ns_ifu01.RESAMPLING_DENT_PERCENT / np.sqrt(12.0)
    if points < ns_ifu01.FULLY_SAMPLED_DITHERS:
        assert result.uncertainty >= systematic, result.describe()
        assert result.evidence["resampling_uncertainty_percent"] == pytest.approx(systematic)
        assert "resampling alone dents" in result.message
    else:
        assert result.uncertainty < 1.0, result.describe()  # noise only
        assert "resampling_uncertainty_percent" not in result.evidence


@pytest.mark.parametrize("hole", [0.0, 0.5])
def test_one_position_is_not_applicable(tmp_path: Path, hole: float) -> None:
    """With one dither position jwst's outlier detection does not run, so a dent at the PSF
    peak cannot be NS-IFU01's hole (and no outlier can be caught): not applicable, saying why."""
    dataset = Dataset("d", s3d=[_cube(tmp_path, "c", points=1, hole=hole)])
    with pytest.raises(NotApplicable, match=r"one dither position .*does not run"):
        ns_ifu01.hole(dataset, TH)


def test_the_clean_2_point_nod_of_finding_4_is_undecided() -> None:
    """The measured clean 2-point nod (16.8 ± 0.4 % statistical) with the resampling term
    straddles the 10 % limit; the NS-IFU01 defect's holes of the same scene kind (39 % peak depth
    on bright_point_g395h) lie beyond it."""
    from ifuqa.metrics.result import verdict_for

    systematic = ns_ifu01.RESAMPLING_DENT_PERCENT / np.sqrt(12.0)
    limit = TH.limit("ns_ifu01.psf_peak_hole_depth").value
    assert verdict_for(16.8, limit, "max", float(np.hypot(0.4, systematic))) == "undecided"
    assert verdict_for(39.0, limit, "max", float(np.hypot(0.4, systematic))) == "fail"
