"""Jet flavour tagging benchmark: b, c and light jets from Pythia ttbar events.

Jets are anti-kt R=0.4 on the visible final state, pT > 20 GeV, |η| < 2.5.
Labels follow the ATLAS cone labelling: a b hadron with pT > 5 GeV within
ΔR < 0.4 of the jet axis makes a b jet, else a c hadron makes a c jet, else
the jet is light. Jets near a prompt lepton (e, μ, τ from a W) are dropped, as
τ jets are not light jets. Charm is rare in ttbar, so the charm class is drawn
from ttbar events with both W bosons forced to charm (the jets' own physics is
unchanged); the other classes use inclusive ttbar.

Tracks are the charged constituents of a jet. Pythia's production vertices
(mm) give each track its true impact parameters with respect to the primary
vertex (the origin); B, D, K0S, Λ and hyperon decays happen at realistic
displaced vertices (``ParticleDecays:limitTau0`` with cτ < 1 m). A simple
ATLAS-like silicon tracker then decides what is measured:

* hits: 4 pixel layers (r = 33, 50.5, 88.5, 122.5 mm, 97% efficient) and 4
  double-sided strip (SCT) layers (r = 299, 371, 443, 514 mm, 98% per side)
  outside the production radius; a track needs ≥ 7 silicon hits, pT > 1 GeV,
  |η| < 2.5 (so K0S/Λ decaying late lose pixel hits or the track);
* resolution: σ(d0) = 10 ⊕ 70/(pT √sinθ) μm and σ(z0 sinθ) = 40 ⊕ 100/(pT √sinθ) μm,
  degraded by (r_first/33 mm)^0.7 when the first hit is further out;
* non-Gaussian tails: 90% of tracks smeared with the core σ, 8% with 2.5σ and
  2% with a Student-t (ν=2) of 3σ (mis-measurements and material interactions),
  while the significance always uses the tracker's nominal σ;
* the RNNIP selection |d0| < 1 mm and |z0 sinθ| < 1.5 mm on measured values.

Per jet: 15 tracks sorted by |sd0| (descending), zero-padded, with the six
features ``sd0, sz0, ptfrac, dR, nPixHits, nSCTHits`` (lifetime-signed
significances; ptfrac = pT(track)/pT(jet)). Labels: 0 light, 1 c, 2 b. Inputs
are standardised per feature over real tracks of the training split only.
"""

from __future__ import annotations

import numpy as np

from fxsim.models.datasets import common
from fxsim.models.datasets.events import (
    Event,
    Jet,
    collect_jets,
    delta_phi,
    make_pythia,
    pseudorapidity,
    pythia_seed,
)

FEATURES = ["sd0", "sz0", "ptfrac", "dR", "nPixHits", "nSCTHits"]
CLASSES = ["light", "c", "b"]
N_TRACKS = 15
RADIUS = 0.4
JET_PT_MIN = 20.0
JET_ABS_ETA_MAX = 2.5
CHUNK = 500
EVENTS_PER_BATCH = 40

PRESETS: dict[str, dict] = {
    "ttbar13": {"ecm": 13000.0},
    "ttbar14": {"ecm": 14000.0},
}

PIXEL_R = np.array([33.25, 50.5, 88.5, 122.5])  # mm
SCT_R = np.array([299.0, 371.0, 443.0, 514.0])  # mm, two sides each
PIXEL_EFF, SCT_EFF = 0.97, 0.98
MIN_SI_HITS = 7
TRACK_PT_MIN = 1.0
D0_MAX_MM, Z0SIN_MAX_MM = 1.0, 1.5

_CHARGED = np.array([11, 13, 211, 321, 2212, 3112, 3222, 3312, 3334])


def heavy_flavour(pid: np.ndarray) -> np.ndarray:
    """The heaviest quark flavour in each hadron (5 b, 4 c, else ≤ 3; 0 for non-hadrons)."""
    apid = np.abs(pid) % 10000  # drop the excited-state prefix (e.g. 10511)
    q1, q2, q3 = (apid // 1000) % 10, (apid // 100) % 10, (apid // 10) % 10
    hadron = (apid > 100) & (q3 != 0)  # q3 == 0 are diquarks, not hadrons
    return np.where(hadron, np.maximum(np.maximum(q1, q2), q3), 0)


def pythia_settings(preset: str, label: int, fast: bool) -> list[str]:
    """Pythia settings for the events that supply jets of class ``label``."""
    lines = [
        f"Beams:eCM = {PRESETS[preset]['ecm']}",
        "Top:gg2ttbar = on",
        "Top:qqbar2ttbar = on",
        # decay everything with c*tau0 < 1 m, at its displaced vertex: B, D, K0S, Lambda, hyperons
        "ParticleDecays:limitTau0 = on",
        "ParticleDecays:tau0Max = 1000.",
    ]
    if label == CLASSES.index("c"):
        lines += ["24:onMode = off", "24:onIfAny = 4"]
    if fast:
        lines += ["PartonLevel:MPI = off"]
    return lines


def _eta_phi(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return pseudorapidity(p4), np.arctan2(p4[:, 1], p4[:, 0])


def jet_label(ev: Event, jet: Jet) -> int:
    """Cone label of a jet, or -1 for a jet to drop (a prompt lepton inside)."""
    eta_j, phi_j = jet.eta, jet.phi
    eta, phi = _eta_phi(ev.p4)
    near = np.hypot(eta - eta_j, delta_phi(phi, phi_j)) < RADIUS
    apid = np.abs(ev.pid)
    mother = np.abs(ev.pid[ev.mother1])
    prompt_lepton = np.isin(apid, (11, 13, 15)) & (mother == 24) & (ev.pt > 10.0)
    if np.any(near & prompt_lepton):
        return -1
    flav = heavy_flavour(ev.pid)
    hard = near & (ev.pt > 5.0)
    if np.any(hard & (flav == 5)):
        return CLASSES.index("b")
    if np.any(hard & (flav == 4)):
        return CLASSES.index("c")
    return CLASSES.index("light")


def _smear_factor(rng: np.random.Generator, n: int) -> np.ndarray:
    """Measurement error in units of the nominal σ: Gaussian core plus tails."""
    u = rng.random(n)
    core = rng.standard_normal(n)
    wide = 2.5 * rng.standard_normal(n)
    heavy = 3.0 * rng.standard_t(2.0, n)
    return np.where(u < 0.90, core, np.where(u < 0.98, wide, heavy))


def track_features(ev: Event, jet: Jet, rng: np.random.Generator) -> np.ndarray:
    """Reconstruct the jet's tracks and return the (15, 6) raw feature matrix."""
    out = np.zeros((N_TRACKS, len(FEATURES)), dtype=np.float32)
    idx = jet.constituents[np.isin(np.abs(ev.pid[jet.constituents]), _CHARGED)]
    if len(idx) == 0:
        return out
    p4, v = ev.p4[idx], ev.vprod[idx]
    pt = np.hypot(p4[:, 0], p4[:, 1])
    eta, phi = _eta_phi(p4)
    r_prod = np.hypot(v[:, 0], v[:, 1])
    # silicon hits on layers outside the production radius
    n = len(idx)
    pix_layers = (PIXEL_R[None, :] > r_prod[:, None]) & (rng.random((n, len(PIXEL_R))) < PIXEL_EFF)
    sct_sides = np.repeat(SCT_R, 2)
    sct_layers = (sct_sides[None, :] > r_prod[:, None]) & (rng.random((n, len(sct_sides))) < SCT_EFF)
    n_pix, n_sct = pix_layers.sum(1), sct_layers.sum(1)
    reco = (pt > TRACK_PT_MIN) & (np.abs(eta) < JET_ABS_ETA_MAX) & (n_pix + n_sct >= MIN_SI_HITS)
    if not np.any(reco):
        return out
    # true impact parameters of a straight track w.r.t. the primary vertex at the origin
    ux, uy = p4[:, 0] / pt, p4[:, 1] / pt
    d0 = -v[:, 0] * uy + v[:, 1] * ux  # signed by the ATLAS convention d0 = -x sinφ + y cosφ
    s = -(v[:, 0] * ux + v[:, 1] * uy)  # path back to the point of closest approach
    z0 = v[:, 2] + s * p4[:, 2] / pt
    sin_theta = 1.0 / np.cosh(eta)
    z0sin = z0 * sin_theta
    # resolutions in mm; a first hit further out extrapolates worse
    first_r = np.where(n_pix > 0, PIXEL_R[np.argmax(pix_layers, axis=1)], SCT_R[0])
    degrade = (first_r / PIXEL_R[0]) ** 0.7
    sig_d0 = 1e-3 * np.hypot(10.0, 70.0 / (pt * np.sqrt(sin_theta))) * degrade
    sig_z0 = 1e-3 * np.hypot(40.0, 100.0 / (pt * np.sqrt(sin_theta))) * degrade
    tail = _smear_factor(rng, n)  # one category per track: a bad track is bad in both views
    d0_meas = d0 + sig_d0 * tail
    z0_meas = z0sin + sig_z0 * _smear_factor(rng, n) * np.where(np.abs(tail) > 3, np.abs(tail) / 3, 1.0)
    reco &= (np.abs(d0_meas) < D0_MAX_MM) & (np.abs(z0_meas) < Z0SIN_MAX_MM)
    if not np.any(reco):
        return out
    # lifetime sign: positive when the closest approach lies on the jet's side
    sign_d0 = np.where(d0_meas * np.sin(jet.phi - phi) >= 0, 1.0, -1.0)
    sign_z0 = np.where(z0_meas * (jet.eta - eta) >= 0, 1.0, -1.0)
    sd0 = sign_d0 * np.abs(d0_meas) / sig_d0
    sz0 = sign_z0 * np.abs(z0_meas) / sig_z0
    dr = np.hypot(eta - jet.eta, delta_phi(phi, jet.phi))
    feats = np.stack([sd0, sz0, pt / jet.pt, dr, n_pix, n_sct], axis=1)[reco]
    feats = feats[np.argsort(-np.abs(feats[:, 0]), kind="stable")][:N_TRACKS]
    out[: len(feats)] = feats
    return out


def generate_chunk(preset: str, label: int, fast: bool, seed: int, n_jets: int) -> np.ndarray:
    """Generate ``n_jets`` raw track matrices of class ``label`` with one seed."""
    pythia = make_pythia(pythia_settings(preset, label, fast), seed)
    rng = np.random.default_rng(seed)  # detector smearing, tied to the same seed

    def features_of(ev, jets):
        for jet in jets:
            if abs(jet.eta) < JET_ABS_ETA_MAX and jet_label(ev, jet) == label:
                yield track_features(ev, jet, rng)

    return collect_jets(pythia, n_jets, EVENTS_PER_BATCH, RADIUS, JET_PT_MIN, 100 * max(n_jets, 10), features_of,
                        f"flavour tagging: too few {CLASSES[label]} jets pass the selection")

def generate(
    n: int,
    preset: str = "ttbar13",
    seed: int = 0,
    fast: bool = False,
    test_fraction: float = 0.25,
    workers: int | None = None,
    cache_dir: str | None = None,
    progress: bool = True,
) -> common.Dataset:
    """Generate (or load from cache) a balanced b/c/light flavour tagging dataset.

    Parameters
    ----------
    n : int
        Total jets, a third per class, split into train and test.
    preset : {'ttbar13', 'ttbar14'}
        ttbar at 13 or 14 TeV.
    seed, fast, test_fraction, workers, cache_dir, progress
        As for :func:`fxsim.models.datasets.toptag.generate`.

    Returns
    -------
    Dataset
        ``x`` of shape (n, 15, 6), labels 0 light, 1 c, 2 b.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown flavour tagging preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    common.check_common_args(n, workers, test_fraction)
    counts = common.per_class_counts(n, len(CLASSES))
    settings = {
        "generator": "btag",
        "preset": preset,
        "n": int(n),
        "seed": int(seed),
        "fast": bool(fast),
        "test_fraction": float(test_fraction),
        "chunk": CHUNK,
        "radius": RADIUS,
        "ecm": PRESETS[preset]["ecm"],
    }

    def build() -> common.Dataset:
        tasks = common.chunk_tasks(counts, CHUNK)
        args = [(preset, c, fast, pythia_seed(seed, c, k), size) for c, k, size in tasks]
        chunks = common.run_parallel(
            generate_chunk, args, [t[2] for t in tasks], workers, f"btag {preset}{' fast' if fast else ''}", "jet",
            progress
        )
        # ptfrac (column 2) > 0 marks a real track
        return common.jet_dataset(chunks, tasks, 2, test_fraction, seed, FEATURES, CLASSES, settings)

    return common.cached_or_build(settings, build, cache_dir)
