"""The NS-IFU01 flag checks' read path (issue 17, item 5: no repeated reads in the main job).

The checks read only the extensions they use (:func:`ifuqa.products.images.read_images`: the
cal's DQ, the rate's SCI and ERR) instead of whole datamodels, and each exposure's artefact truth
once per dataset. These tests pin that the arrays are exactly the datamodel's, that the checks
measure the same, that the truth is read once and again when its file changes, and that a
truncated, corrupt or incomplete file is an error naming it.
"""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from stdatamodels.jwst import datamodels
from stdatamodels.jwst.datamodels import dqflags

from ifuqa.evaluate import ns_ifu01
from ifuqa.products import ProductError
from ifuqa.products import images as images_module
from ifuqa.products.dataset import Dataset
from ifuqa.products.images import read_images
from ifuqa.simulate.truth import write_artefact_truth
from ifuqa.verdicts.thresholds import Thresholds

TH = Thresholds()
SHAPE = (64, 256)
STEMS = ("jw01234001001_03101_00001_nrs1", "jw01234001001_03101_00002_nrs1")
OUTLIER = dqflags.pixel["OUTLIER"]
JUMP = dqflags.pixel["JUMP_DET"]
WARM_ROW, WARM_COLUMNS = 10, range(10, 30)


def _save(path: Path, data: np.ndarray, err: np.ndarray, dq: np.ndarray) -> None:
    model = datamodels.IFUImageModel(data=data.astype(np.float32), err=err.astype(np.float32),
                                     dq=dq.astype(np.uint32))
    model.meta.telescope = "JWST"
    model.meta.instrument.name = "NIRSPEC"
    model.meta.instrument.detector = "NRS1"
    model.save(path)
    model.close()


def _exposure(folder: Path, stem: str, index: int) -> None:
    """A rate with a 3-row trace along every column and 20 warm pixels, its cal (outliers NaN,
    flagged in DQ) and its artefact truth."""
    rng = np.random.default_rng(index)
    rate = rng.normal(0.0, 0.2, SHAPE)
    rate[30:33] += np.array([[50.0], [100.0], [60.0]])
    warm = np.zeros(SHAPE)
    warm[WARM_ROW, list(WARM_COLUMNS)] = 500.0
    rate += warm
    err = np.full(SHAPE, 1.0)
    dq = np.zeros(SHAPE, dtype=np.uint32)
    dq[31, index * 4:index * 4 + 4] |= OUTLIER  # 4 core pixels flagged per exposure
    dq[WARM_ROW, list(WARM_COLUMNS)[1:]] |= OUTLIER  # 19 of 20 warm pixels caught
    dq[40, 40] |= JUMP | (1 << 31)  # the highest bit survives the read
    cal = rate.copy()
    cal[(dq & OUTLIER) > 0] = np.nan
    _save(folder / f"{stem}_rate.fits", rate, err, np.zeros(SHAPE, dtype=np.uint32))
    _save(folder / f"{stem}_cal.fits", cal, err, dq)
    mask = np.zeros(SHAPE, dtype=bool)
    mask[50, 50] = True
    cr = np.where(mask, 30.0, 0.0)
    write_artefact_truth(folder / f"{stem}_crmask.fits", mask, cr, warm)


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    for index, stem in enumerate(STEMS):
        _exposure(tmp_path, stem, index)
    return Dataset(name="reads", rate=[tmp_path / f"{s}_rate.fits" for s in STEMS],
                   cal=[tmp_path / f"{s}_cal.fits" for s in STEMS], truth_dir=tmp_path)


def test_read_images_gives_the_datamodel_arrays(dataset: Dataset) -> None:
    for path in dataset.cal + dataset.rate:
        got = read_images(path)
        with datamodels.open(path) as model:
            expected = {"SCI": np.asarray(model.data), "ERR": np.asarray(model.err),
                        "DQ": np.asarray(model.dq)}
        for name, array in expected.items():
            assert got[name].dtype == array.dtype, (path.name, name)
            np.testing.assert_array_equal(got[name], array)
    dq = read_images(dataset.cal[0], ("DQ",))["DQ"]
    assert int(dq[40, 40]) == JUMP | (1 << 31)


@pytest.mark.parametrize("use_rates", [True, False])
def test_flags_and_rates_are_those_of_the_datamodels(dataset: Dataset, use_rates: bool) -> None:
    """Both branches (signal from the rate, or from the cal with outliers filled) give the
    arrays the datamodel path gave, value for value."""
    got = list(ns_ifu01.exposure_flags(dataset, use_rates=use_rates,
                                       flags=("JUMP_DET", "OUTLIER")))
    assert [g[0] for g in got] == list(STEMS)
    for (stem, flagged, signal, noise), cal in zip(got, dataset.cal, strict=True):
        with datamodels.open(cal) as model:
            dq = np.asarray(model.dq)
            cal_data = np.asarray(model.data, dtype=float)
            cal_err = np.asarray(model.err, dtype=float)
        np.testing.assert_array_equal(flagged, (dq & (JUMP | OUTLIER)) > 0)
        if use_rates:
            with datamodels.open(cal.with_name(f"{stem}_rate.fits")) as model:
                want_signal = np.asarray(model.data, dtype=float)
                want_noise = np.asarray(model.err, dtype=float)
            np.testing.assert_array_equal(signal, want_signal)
            np.testing.assert_array_equal(noise, want_noise)
        else:  # the cal's own values, its NaN outliers filled from their neighbours
            outliers = (dq & OUTLIER) > 0
            assert outliers.any() and np.isnan(cal_data[outliers]).all()
            np.testing.assert_array_equal(signal[~outliers], cal_data[~outliers])
            np.testing.assert_array_equal(noise, cal_err)
            assert np.isfinite(signal[outliers]).all()


def test_checks_measure_and_read_the_truth_once(dataset: Dataset,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Core flags and warm-pixel recall of one dataset read each exposure's truth once; the
    values are those the data were made with (8 of 768 core pixels flagged, 19 of 20 warm
    pixels caught per exposure)."""
    reads: list[str] = []
    real = ns_ifu01.read_artefact_truth

    def counting(folder: Path, stem: str) -> object:
        reads.append(stem)
        return real(folder, stem)

    monkeypatch.setattr(ns_ifu01, "read_artefact_truth", counting)
    monkeypatch.setattr(ns_ifu01, "TRUTH_CACHE", ns_ifu01.TruthOfLastDataset())
    monkeypatch.setattr(ns_ifu01, "MIN_CORE_PIXELS", 100)
    core = ns_ifu01.core_flags(dataset, TH)
    assert core.details["core_pixels"] == 2 * 3 * SHAPE[1]
    assert core.value == pytest.approx(100.0 * 8 / (2 * 3 * SHAPE[1]))
    warm = ns_ifu01.warm_pixel_flags(dataset, TH)
    assert warm.value == pytest.approx(95.0) and warm.details["pixels"] == 40
    assert sorted(reads) == sorted(STEMS)  # once each, for both checks
    truth = ns_ifu01.artefact_truth(dataset.truth_dir, STEMS[0])
    assert truth is not None and not truth.warm_dn_s.flags.writeable


def test_truth_read_again_when_its_file_changes(dataset: Dataset,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ns_ifu01, "TRUTH_CACHE", ns_ifu01.TruthOfLastDataset())
    assert ns_ifu01.warm_pixel_flags(dataset, TH).value == pytest.approx(95.0)
    folder = dataset.truth_dir
    assert folder is not None
    for stem in STEMS:  # the truth now says only half of the warm pixels are warm
        warm = np.zeros(SHAPE)
        warm[WARM_ROW, list(WARM_COLUMNS)[::2]] = 500.0
        mask = np.zeros(SHAPE, dtype=bool)
        path = folder / f"{stem}_crmask.fits"
        write_artefact_truth(path, mask, np.zeros(SHAPE), warm)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert ns_ifu01.warm_pixel_flags(dataset, TH).value == pytest.approx(90.0)


def test_truth_of_the_last_folders_is_kept(dataset: Dataset, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A scene's defect datasets share its simulation folder, with other datasets checked in
    between: the truth of the last few folders stays read; the least recently used goes."""
    import shutil

    reads: list[str] = []
    real = ns_ifu01.read_artefact_truth

    def counting(folder: Path, stem: str) -> object:
        reads.append(Path(folder).name)
        return real(folder, stem)

    monkeypatch.setattr(ns_ifu01, "read_artefact_truth", counting)
    home = dataset.truth_dir
    assert home is not None
    other, third = tmp_path / "other", tmp_path / "third"
    shutil.copytree(home, other)
    shutil.copytree(home, third)
    cache = ns_ifu01.TruthOfLastDataset(folders=2)
    for folder in (home, other, home, other):
        assert cache.get(folder, STEMS[0]) is not None
    assert reads == [home.name, "other"]  # each read once
    cache.get(third, STEMS[0])  # forgets `home`, the least recently used
    cache.get(other, STEMS[0])
    cache.get(home, STEMS[0])
    assert reads == [home.name, "other", "third", home.name]


def test_truncated_cal_is_an_error_naming_it(dataset: Dataset) -> None:
    cal = dataset.cal[1]
    data = cal.read_bytes()
    cal.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProductError, match=rf"{cal.name}.*truncated"):
        ns_ifu01.core_flags(dataset, TH)
    with pytest.raises(ProductError, match=rf"{cal.name}.*truncated"):
        read_images(cal, ("DQ",))


def test_corrupt_files_are_errors_naming_them(dataset: Dataset) -> None:
    dataset.cal[0].write_bytes(b"not a FITS file at all" * 200)
    with pytest.raises(ProductError, match=rf"{dataset.cal[0].name}.*not a readable FITS"):
        ns_ifu01.warm_pixel_flags(dataset, TH)
    empty = dataset.rate[0]
    empty.write_bytes(b"")
    with pytest.raises(ProductError, match=rf"{empty.name}: empty file"):
        read_images(empty, ("SCI", "ERR"))


def test_missing_or_misshapen_extensions_are_named(tmp_path: Path) -> None:
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = "JWST"
    path = tmp_path / "x_cal.fits"
    fits.HDUList([primary, fits.ImageHDU(np.zeros((4, 4), np.float32), name="SCI")]
                 ).writeto(path)
    with pytest.raises(ProductError, match=r"x_cal\.fits: no ERR, DQ extension"):
        read_images(path)
    cube = tmp_path / "y_cal.fits"
    fits.HDUList([primary, fits.ImageHDU(np.zeros((2, 4, 4), np.uint32), name="DQ")]
                 ).writeto(cube)
    with pytest.raises(ProductError, match=r"y_cal\.fits: the DQ extension is not a 2-D image"):
        read_images(cube, ("DQ",))
    other = tmp_path / "z_cal.fits"
    hubble = fits.PrimaryHDU()
    hubble.header["TELESCOP"] = "HST"
    fits.HDUList([hubble, fits.ImageHDU(np.zeros((4, 4), np.uint32), name="DQ")]
                 ).writeto(other)
    with pytest.raises(ProductError, match=r"z_cal\.fits: not a JWST product"):
        read_images(other, ("DQ",))


def test_read_images_example() -> None:
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    out: list[str] = []
    for test in finder.find(read_images, "read_images", globs=dict(vars(images_module))):
        runner.run(test, out=out.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(out)


def test_cubes_and_spectra_are_read_once_per_file_version(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks of one dataset read its cube and x1d about ten times each: the second read
    of an unchanged file opens nothing, returns the same values in arrays of its own, and a
    rewritten file is read again."""
    from ifuqa.builds.analytic_products import PointCubeSpec, write_point_cube, write_point_x1d
    from ifuqa.products import read as read_module

    spec = PointCubeSpec(shape=(40, 21, 21))
    cube_path = write_point_cube(tmp_path / "a_s3d.fits", spec)
    x1d_path = write_point_x1d(tmp_path / "a_x1d.fits", spec)
    opened: list[str] = []
    precheck, product = read_module.precheck_product, read_module.open_product
    monkeypatch.setattr(read_module, "precheck_product",  # what opening a cube starts with
                        lambda p: (opened.append(Path(p).name), precheck(p))[1])
    monkeypatch.setattr(read_module, "open_product",
                        lambda p: (opened.append(Path(p).name), product(p))[1])
    first, again = read_module.read_cube(cube_path), read_module.read_cube(cube_path)
    one, two = read_module.read_spectrum(x1d_path), read_module.read_spectrum(x1d_path)
    assert opened.count("a_s3d.fits") == 1 and opened.count("a_x1d.fits") == 1
    np.testing.assert_array_equal(first.data, again.data)
    np.testing.assert_array_equal(first.wavelength_um, again.wavelength_um)
    np.testing.assert_array_equal(one.flux_jy, two.flux_jy)
    assert one.header == two.header and one.extraction_xy == two.extraction_xy
    first.data[:] = 0.0  # a caller changing its copy changes nobody else's
    one.flux_jy[:] = 0.0
    one.header["GRATING"] = "changed"
    third, three = read_module.read_cube(cube_path), read_module.read_spectrum(x1d_path)
    np.testing.assert_array_equal(third.data, again.data)
    np.testing.assert_array_equal(three.flux_jy, two.flux_jy)
    assert three.header == two.header
    brighter = PointCubeSpec(shape=(40, 21, 21), flux_jy=2 * spec.flux_jy)
    write_point_cube(cube_path, brighter)
    stat = cube_path.stat()
    os.utime(cube_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    rewritten = read_module.read_cube(cube_path)
    assert opened.count("a_s3d.fits") == 2
    assert np.nansum(rewritten.data) == pytest.approx(2 * np.nansum(again.data), rel=1e-3)
    cube_path.unlink()
    with pytest.raises(ProductError, match=r"a_s3d\.fits: file not found"):
        read_module.read_cube(cube_path)
