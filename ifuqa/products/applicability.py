"""Which known issues can affect a product, read from its headers.

Every product carries how it was made: the pipeline version (``CAL_VER``), the source type
(``SRCTYPE``) and flux unit (``BUNIT``), the detector (``DETECTOR``), the readout pattern
(``READPATT``), the number of dither positions (``NUMDTHPT``), the step status keywords
(``S_CLNFLK``/``S_NSCLEN`` for 1/f cleaning) and, for products made by ifuqa itself, the defects
re-created in processing (``IFQ_DEF``). :func:`assess` turns these into one
:class:`Applicability` per known issue:

``affected``
    The headers say the product was made the way that causes the issue (e.g. processed before
    jwst 1.11.3 for NS-IFU01/02; point-source cube in MJy; NRS2 not cleaned of 1/f noise).
``at risk``
    The issue can affect this product although the known fix is in place (or its state is not
    recorded); the checks tell whether it does.
``not applicable``
    The issue cannot affect this product (an extended source for the point-source issues; MIRI
    for NIRSpec's detector noise; a product of another mode than the IFU for IFU-only issues).

Only headers are read (astropy, primary and first extension), so this is cheap to run on every
dataset. Nothing is written to the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifuqa.util.known_issues import ISSUES

__all__ = [
    "AFFECTED",
    "AT_RISK",
    "NOT_APPLICABLE",
    "Applicability",
    "ProductHeader",
    "Screening",
    "as_json",
    "assess",
    "parse_version",
    "read_header",
    "screen",
    "unsupported_reason",
]

AFFECTED = "affected"
AT_RISK = "at risk"
NOT_APPLICABLE = "not applicable"


OUTLIER_FIX_VERSION = (1, 11, 3)
"""jwst version with the IFU outlier method and surface-brightness point-source cubes
(pipeline build 9.3): NS-IFU01 and NS-IFU02."""

AUTOCEN_VERSION = (1, 11, 0)
"""jwst version that introduced ``ifu_autocen`` (NS-IFU04)."""

IFU_MODES = ("NRS_IFU", "MIR_MRS")
SUPPORTED_INSTRUMENTS = ("NIRSPEC", "MIRI")


@dataclass(frozen=True)
class ProductHeader:
    """The header values applicability depends on (None: keyword absent)."""

    path: Path
    instrument: str | None
    exp_type: str | None
    detector: str | None
    readpatt: str | None
    cal_ver: str | None
    software: str | None
    srctype: str | None
    bunit: str | None
    dither_points: int | None
    cleaned: bool | None
    ifuqa_defects: tuple[str, ...] | None


@dataclass(frozen=True)
class Applicability:
    """Whether one known issue can affect a dataset, and why."""

    issue: str
    status: str
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def applies(self) -> bool:
        """True unless the issue cannot affect the data."""
        return self.status != NOT_APPLICABLE

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``status``, ``reason``)."""
        return {"status": self.status, "reason": "; ".join(self.reasons)}


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """The release numbers of a version string (``"1.11.4"`` → ``(1, 11, 4)``), or None.

    Parsed with :class:`packaging.version.Version`; text after a valid leading version is
    ignored (``"1.11.4 (local build)"``), as are pre-, post- and dev-release parts
    (``"1.12.5.dev3+g1"`` → ``(1, 12, 5)``: a development build of a release counts as that
    release). A string without a version (``"unknown"``) gives None.
    """
    if not text:
        return None
    from packaging.version import VERSION_PATTERN, InvalidVersion, Version

    text = str(text).strip()
    try:
        return Version(text).release
    except InvalidVersion:
        match = re.match(VERSION_PATTERN, text, flags=re.VERBOSE | re.IGNORECASE)
        return Version(match.group(0)).release if match else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def read_header(path: Path) -> ProductHeader:
    """Header values of a product (primary header, then the first extension for ``SRCTYPE``
    and ``BUNIT``).

    Raises
    ------
    ifuqa.products.ProductError
        The file cannot be read as FITS.
    """
    from ifuqa.products import check_file, probe_fits

    path = Path(path)
    check_file(path)
    heads = probe_fits(path)[:2]

    def get(key: str) -> str | None:
        for head in heads:
            if key in head:
                return _text(head[key])
        return None

    status = get("S_CLNFLK") or get("S_NSCLEN")
    defects_text = get("IFQ_DEF")
    defects = None
    if defects_text is not None:
        defects = tuple(d for d in defects_text.split(",") if d and d != "NONE")
    software = "ifuqa" if get("IFQ_VER") else ("jwst" if get("CAL_VER") else None)
    cleaned = None
    if status is not None:
        cleaned = status.upper() == "COMPLETE"
    elif defects is not None:  # ifuqa products: the chain cleans unless NS-IFU03 is re-created
        cleaned = "NS-IFU03" not in defects
    points = get("NUMDTHPT")
    try:
        dither_points = int(points) if points is not None else None
    except ValueError:
        dither_points = None
    return ProductHeader(
        path=path, instrument=(get("INSTRUME") or "").upper() or None,
        exp_type=(get("EXP_TYPE") or "").upper() or None,
        detector=(get("DETECTOR") or "").upper() or None,
        readpatt=(get("READPATT") or "").upper() or None,
        cal_ver=get("CAL_VER"), software=software,
        srctype=(get("SRCTYPE") or "").upper() or None, bunit=get("BUNIT"),
        dither_points=dither_points, cleaned=cleaned, ifuqa_defects=defects)


def _combine(issue: str, verdicts: list[tuple[str, str]]) -> Applicability:
    """The most severe status of the products, with the reasons given for it."""
    order = (AFFECTED, AT_RISK, NOT_APPLICABLE)
    for status in order:
        files: dict[str, list[str]] = {}
        for s, r in verdicts:
            if s == status:
                name, _, text = r.partition(": ")
                files.setdefault(text, []).append(name)
        if files:
            reasons = tuple(f"{names[0]}: {text}" if len(names) == 1 else
                            f"{names[0]} and {len(names) - 1} more: {text}"
                            for text, names in files.items())
            return Applicability(issue, status, reasons)
    return Applicability(issue, AT_RISK, ("no product header says otherwise",))


def _older(cal_ver: str | None, version: tuple[int, ...]) -> bool | None:
    from packaging.version import Version

    parsed = parse_version(cal_ver)
    if parsed is None:
        return None
    return Version(_version_text(parsed)) < Version(_version_text(version))  # 1.11 == 1.11.0


def _version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(v) for v in version)


def _by_jwst(h: ProductHeader, version: tuple[int, ...], what: str) -> tuple[str, str]:
    older = _older(h.cal_ver, version)
    if older:
        return AFFECTED, (f"{h.path.name}: processed with jwst {h.cal_ver} "
                          f"(< {_version_text(version)}, {what})")
    if older is None:
        return AT_RISK, f"{h.path.name}: pipeline version (CAL_VER) not recorded"
    return AT_RISK, (f"{h.path.name}: jwst {h.cal_ver} has the fix; the checks verify the "
                     "data")


RELEVANT_PRODUCTS = {
    "NS-IFU01": ("crf", "cal", "s3d"),
    "NS-IFU02": ("s3d", "x1d"),
    "NS-IFU03": ("rate", "nsclean", "cal", "crf", "s3d", "x1d"),
    "NS-IFU04": ("s3d", "x1d"),
    "NS-IFU05": ("s3d", "x1d"),
    "NS-IFU06": ("s3d",),
}
"""Products whose headers tell about each issue: outlier detection, cube building and
extraction happen after ramp fitting, so a rate file's pipeline version says nothing about
NS-IFU01/02/04/05/06."""


def _kind(path: Path) -> str | None:
    from ifuqa.products.discovery import product_kind

    found = product_kind(path)
    return found[1] if found else None


def _product_verdict(issue: str, h: ProductHeader, n_exposures: int) -> tuple[str, str] | None:
    name = h.path.name
    kind = _kind(h.path)
    if kind is not None and kind not in RELEVANT_PRODUCTS[issue]:
        return None
    if issue == "NS-IFU03" and kind == "rate" and h.instrument == "NIRSPEC":
        where = " (NRS2: the strongest 1/f noise)" if h.detector == "NRS2" else ""
        return AT_RISK, f"{name}: count-rate image, before 1/f cleaning{where}"
    ifu = h.exp_type in IFU_MODES if h.exp_type else None
    nirspec = h.instrument == "NIRSPEC"
    point = h.srctype == "POINT"
    ours = h.software == "ifuqa"
    if issue == "NS-IFU03":
        if h.instrument == "MIRI":
            return NOT_APPLICABLE, f"{name}: MIRI (1/f read noise of NIRSpec's detectors)"
        if ours and h.ifuqa_defects is not None and "NS-IFU03" in h.ifuqa_defects:
            return AFFECTED, f"{name}: processed by ifuqa without 1/f cleaning (defect NS-IFU03)"
        if h.cleaned is False or (h.cleaned is None and not ours):
            where = " on NRS2, the detector with the strongest 1/f noise" if \
                h.detector == "NRS2" else ""
            readout = (" (IRS2 reference pixels do not remove it)"
                       if h.readpatt and "IRS2" in h.readpatt else "")
            state = "not cleaned" if h.cleaned is False else "no record of 1/f cleaning"
            return (AFFECTED if h.cleaned is False else AT_RISK,
                    f"{name}: {state}{where}{readout}")
        return AT_RISK, f"{name}: 1/f cleaning done; residual banding is checked"
    if ifu is False:
        return NOT_APPLICABLE, f"{name}: EXP_TYPE {h.exp_type} is not an IFU mode"
    if issue in ("NS-IFU02", "NS-IFU04", "NS-IFU05", "NS-IFU06") and h.srctype and not point:
        return NOT_APPLICABLE, (f"{name}: SRCTYPE={h.srctype} (the issue concerns point "
                                "sources)")
    if ours and h.ifuqa_defects is not None:
        if issue in h.ifuqa_defects:
            return AFFECTED, f"{name}: processed by ifuqa re-creating defect {issue}"
        if issue != "NS-IFU06":
            return AT_RISK, f"{name}: processed by ifuqa with the fix of {issue}"
    if issue == "NS-IFU01":
        points = max(h.dither_points or 0, n_exposures)
        if points == 1:
            return NOT_APPLICABLE, (f"{name}: a single exposure (outlier detection between "
                                    "dithers does not run)")
        if ours:
            return AT_RISK, f"{name}: ifuqa's chain"
        return _by_jwst(h, OUTLIER_FIX_VERSION, "median-cube outlier detection")
    if issue == "NS-IFU02":
        if h.bunit and h.bunit.strip() == "MJy" and point:
            return AFFECTED, f"{name}: point-source cube in MJy (flux density) units"
        if ours:
            return AT_RISK, f"{name}: ifuqa's chain"
        return _by_jwst(h, OUTLIER_FIX_VERSION, "point sources cubed in flux density")
    if issue == "NS-IFU04":
        if ours:
            return AT_RISK, f"{name}: ifuqa's chain"
        return _by_jwst(h, AUTOCEN_VERSION, "no ifu_autocen: extraction at the nominal "
                                            "position")
    if issue == "NS-IFU05":
        points = max(h.dither_points or 0, n_exposures)
        if 0 < points < 4:
            return AT_RISK, (f"{name}: {points} dither position(s), fewer than the 4 that keep "
                             "aperture-spectrum wiggles below 1 % (Law et al. 2023)")
        return AT_RISK, (f"{name}: {points or 'unknown number of'} dither positions; "
                         "single-spaxel spectra wiggle even then")
    if issue == "NS-IFU06":
        why = "no pipeline fix" if nirspec else "measured for any IFU cube"
        return AT_RISK, f"{name}: {why}"
    raise ValueError(f"unknown issue {issue!r}")


def assess(headers: Iterable[ProductHeader], *, n_exposures: int = 0
           ) -> dict[str, Applicability]:
    """Applicability of every known issue to a dataset made of these products.

    Parameters
    ----------
    headers : iterable of ProductHeader
        One per product of the dataset.
    n_exposures : int
        Number of exposure-level products (rate/cal) of the dataset, for the dither count
        when ``NUMDTHPT`` is absent.

    Returns
    -------
    dict
        Issue ID → :class:`Applicability`; the most severe status over the products.
    """
    heads = list(headers)
    out = {}
    for issue in ISSUES:
        if not heads:
            out[issue] = Applicability(issue, AT_RISK, ("no readable product headers",))
            continue
        verdicts = [v for h in heads if (v := _product_verdict(issue, h, n_exposures))]
        if not verdicts:
            kinds = ", ".join(RELEVANT_PRODUCTS[issue])
            out[issue] = Applicability(issue, NOT_APPLICABLE,
                                       (f"no product that shows it ({kinds})",))
            continue
        out[issue] = _combine(issue, verdicts)
    return out


def unsupported_reason(h: ProductHeader) -> str | None:
    """Why ifuqa cannot check a product at all (another telescope or instrument), or None."""
    if h.instrument is None:
        return f"{h.path}: no INSTRUME keyword; not a JWST product"
    if h.instrument not in SUPPORTED_INSTRUMENTS:
        return (f"{h.path}: instrument {h.instrument}; ifuqa checks NIRSpec (and MIRI MRS "
                "cubes)")
    return None


@dataclass(frozen=True)
class Screening:
    """What the headers of a dataset say before any check runs."""

    applicability: dict[str, dict[str, str]]
    unsupported: tuple[str, ...]
    """Why products cannot be checked at all (file and reason): every check of the dataset
    reports these as errors."""


_SCREENED: dict[tuple, Screening] = {}


def screen(dataset: Any) -> Screening:
    """Applicability (issue → status, reason) and unusable products (unreadable, or of an
    unsupported instrument) of a :class:`ifuqa.products.Dataset`, read once per process."""
    from ifuqa.products import ProductError

    paths = [*dataset.s3d, *dataset.x1d, *dataset.cal, *dataset.cleaned, *dataset.rate]
    key = (dataset.name, tuple(str(p) for p in paths))
    if key in _SCREENED:
        return _SCREENED[key]
    heads = []
    unreadable = []
    for path in paths:
        try:
            heads.append(read_header(path))
        except ProductError as exc:
            unreadable.append(str(exc))
    n_exposures = max(len(dataset.cal), len(dataset.rate))
    unsupported = tuple(unreadable) + tuple(r for h in heads if (r := unsupported_reason(h)))
    result = Screening(as_json(assess(heads, n_exposures=n_exposures)), unsupported)
    _SCREENED[key] = result
    return result


def as_json(result: dict[str, Applicability]) -> dict[str, dict[str, str]]:
    """Issue → ``{"status", "reason"}``."""
    return {issue: a.as_dict() for issue, a in result.items()}
