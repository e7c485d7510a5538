"""The spaxel-scale study extracts every scale at the sky position the main cube's extraction
found (``ifuqa.process.chain.build_again``): at a coarse scale ``ifu_autocen`` may find no
source and fall back to the target position, which for an off-centre source is not the source's
(the release catalogue's 4-point-nod edge scenes lost the source entirely at 0.2": the
spread across scales read 150 %)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from ifuqa.builds.synthetic import catalogue_spec
from tests._builds import build


def _sky(x1d: object, s3d: object) -> tuple[float, float]:
    from stdatamodels.jwst.datamodels import IFUCubeModel

    header = fits.getheader(x1d)
    with IFUCubeModel(str(s3d)) as cube:
        ra, dec, _ = cube.meta.wcs(header["IFQ_CX"], header["IFQ_CY"], cube.data.shape[0] // 2)
    return float(ra), float(dec)


def test_every_scale_is_extracted_where_the_main_cube_found_the_source(pytestconfig) -> None:
    dataset = build(pytestconfig, catalogue_spec("bright_point_g395h"))
    assert set(dataset.scale_x1d) >= {0.05, 0.2}
    ra0, dec0 = _sky(dataset.x1d[0], dataset.s3d[0])
    assert fits.getval(dataset.x1d[0], "IFQ_CEN") == "ifu_autocen"
    for scale, x1d in dataset.scale_x1d.items():
        s3d = x1d.with_name(x1d.name.replace("_x1d.fits", "_s3d.fits"))
        if not s3d.is_file():  # the main scale, extracted from the main cube
            continue
        assert fits.getval(x1d, "IFQ_CEN") == "center_xy", scale
        ra, dec = _sky(x1d, s3d)
        offset_mas = np.hypot((ra - ra0) * np.cos(np.deg2rad(dec0)), dec - dec0) * 3.6e6
        assert offset_mas == pytest.approx(0.0, abs=1.0), (scale, offset_mas)
