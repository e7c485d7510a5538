"""Hypothesis strategies that draw NIRSpec IFU scenes the instrument can observe.

Compose them in your own property tests::

    from hypothesis import given, settings
    from ifuqa.strategies import scenarios

    @settings(max_examples=20, deadline=None)
    @given(scenarios(grating="G395H", kind="point", band_planes=150))
    def test_my_reduction_keeps_the_flux(scenario):
        ...   # simulate it (ifuqa.builds.simulate_scenario), reduce it, compare with the truth

Every drawn value is a validated :class:`ifuqa.scenario.Scenario` (built by
:func:`ifuqa.scenario.parse_scenario`, so ``ifuqa simulate`` accepts it;
:func:`ifuqa.scenario.write.scenario_toml` writes it as a file). ``ifuqa explore`` searches the
same space for scenes on which the fixed pipeline still shows a known issue.

What is drawn, and its bounds
-----------------------------
* **Disperser**: every grating/filter pair of :data:`ifuqa.instrument.DISPERSERS` and PRISM/CLEAR.
* **Detectors**: for the H gratings NRS1, NRS2 or both (a narrow band lies on one of them); the
  M gratings and PRISM light NRS1 only.
* **Band**: the detector's whole range, or a window of ``band_um`` µm / ``band_planes`` cube
  planes placed anywhere in it (the window is what makes a scene cheap to simulate).
* **Readout**: each pattern (``NRSIRS2RAPID``, ``NRSIRS2``, ``NRSRAPID``, ``NRS``), with
  exposure times of about 100 s to 3000 s (whole groups).
* **Dithers**: the named patterns (none, 2-point nod, 4-point nod, 4-point dither) or a custom
  list of 2-4 offsets within ±0.4".
* **Pointing errors**: none, after target acquisition (±15 mas: 3 × its 5 mas 1σ) or blind
  (±0.2": 3 × its 67 mas 1σ), per axis.
* **Sources**: a point source or an extended (Gaussian or Sérsic) one, whose position in every
  exposure (offset + pointing error + dither offset) keeps :data:`EDGE_MARGIN_FWHM` PSF FWHM
  (at the band's red end) inside the 30 × 0.103" by 3" field of view; continuum flux density
  from :data:`FAINT_FRACTION` × :func:`saturation_mjy` to :func:`saturation_mjy` (the brightest
  pixel at 80 % of :data:`FULL_WELL_E` at the end of the exposure); spectral index −3…3; 0-2
  emission or absorption lines inside the band (line peaks kept below saturation too, and up
  to :data:`MAX_LINE_AMPLITUDE` × the continuum: line-dominated sources are drawn); a centroid
  drift up to ``max_drift_mas`` (peak to peak over the band).

How they shrink
---------------
A failing scene shrinks toward a simple one: G395H/F290LP, NRSIRS2RAPID with ~500 s, no
dither, no pointing error, a point source at the IFU centre, bright (a quarter of the
saturation limit), flat spectrum, no lines, no drift, position angle 0, the band at the centre
of its detector, seed 0. Each drawn quantity is a number whose simplest value (0, or the first
choice) is that simple scene.

Hypothesis shrinks the sequence of choices a scene was drawn from (shorter, then
lexicographically smaller; the disperser is the first choice), and what it returns is a local
minimum: no single choice can be simplified without losing the failure. A choice reaches its
simple value when simplifying it, the others fixed, keeps the scene failing. So the source's
flux density is drawn as a fraction of the scene's own saturation limit — in peak-pixel
electrons, the quantity signal-to-noise follows: a failure caused by faintness stays a failure
when the disperser, the exposure time, the band or the spectral index is simplified, and shrinks
to G395H, ~500 s and the rest of the simple scene. A condition on the absolute flux density (mJy)
instead couples the flux to
the disperser (G395H has the highest saturation limit, so it needs the larger flux choice): the
minimal scene is then faint but may keep another disperser. Likewise the offset is drawn as a
fraction of the room the field of view leaves, which depends on the PSF (the disperser).

Hypothesis is imported when this module is (the pytest plugin never imports it at load).
"""


from ifuqa.strategies.bounds import (
    DISPERSER_ORDER,
    EDGE_MARGIN_FWHM,
    FAINT_FRACTION,
    FIELD_HALF_ARCSEC,
    FULL_WELL_E,
    MAX_LINE_AMPLITUDE,
    field_margin_arcsec,
    saturation_mjy,
)
from ifuqa.strategies.pointing import dither_patterns, pointing_errors
from ifuqa.strategies.scenes import scenarios, simulated_band
from ifuqa.strategies.sources import extended_sources, point_sources

__all__ = [
    "DISPERSER_ORDER",
    "EDGE_MARGIN_FWHM",
    "FAINT_FRACTION",
    "FIELD_HALF_ARCSEC",
    "FULL_WELL_E",
    "MAX_LINE_AMPLITUDE",
    "dither_patterns",
    "extended_sources",
    "field_margin_arcsec",
    "point_sources",
    "pointing_errors",
    "saturation_mjy",
    "scenarios",
    "simulated_band",
]
