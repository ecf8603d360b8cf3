"""Top tagging benchmark: hadronic top jets versus QCD jets from Pythia 8.

Signal is ttbar with both W bosons forced to hadrons; background is Pythia's
hard QCD 2→2. Visible final-state particles are clustered with anti-kt R=0.8.
A top jet must be truth matched: a hadronically decaying top within ΔR<0.8 of
the jet axis whose b quark and both W decay quarks also lie within ΔR<0.8
(as in the common top tagging reference dataset).

Per jet, the 20 highest-pT constituents, sorted by ptrel, each with the six
features of the hls4ml LHC jet dataset used by the seed study:

* ``ptrel``  = pT / pT(jet)
* ``etarot``, ``phirot`` = η, φ relative to the jet axis after a rotation that
  puts the pT-weighted principal axis of the constituents along φ, then a
  flip of each sign so that the positive half carries more pT (the usual
  jet-image pre-processing; it removes the jet's orientation in the η-φ plane)
* ``erel``   = E / E(jet)
* ``deltaR`` = ΔR(constituent, jet axis) (rotation invariant)
* ``pdgid``  = particle-flow-like category: 1 photon, 2 electron, 3 muon,
  4 charged hadron, 5 neutral hadron (0 is padding)

Inputs are standardised per feature over the real constituents of the
training split only; padding stays exactly zero.
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

FEATURES = ["ptrel", "etarot", "phirot", "erel", "deltaR", "pdgid"]
CLASSES = ["qcd", "top"]
N_CONSTITUENTS = 20
RADIUS = 0.8
# Jets per class per chunk: fixed, so the data never depend on the worker count.
CHUNK = 250
EVENTS_PER_BATCH = 50

PRESETS: dict[str, dict] = {
    # the hls4ml LHC jet dataset the seed used: 13 TeV, jets around 1 TeV
    "hls4ml": {"ecm": 13000.0, "pthat": (850.0, 1150.0), "jet_pt": (800.0, 1200.0), "max_abs_eta": 2.0},
    # the top tagging reference dataset (Kasieczka et al.): 14 TeV, pT 550-650 GeV, |eta|<2
    "kasieczka": {"ecm": 14000.0, "pthat": (500.0, 700.0), "jet_pt": (550.0, 650.0), "max_abs_eta": 2.0},
}

_CHARGED = {11, 13, 211, 321, 2212, 3112, 3222, 3312, 3334}
_CATEGORY = {22: 1, 11: 2, 13: 3}


def pdgid_category(pid: np.ndarray) -> np.ndarray:
    """Map PDG ids to the particle-flow category used as the ``pdgid`` feature."""
    apid = np.abs(pid)
    out = np.where(np.isin(apid, list(_CHARGED)), 4, 5).astype(np.float64)
    for code, cat in _CATEGORY.items():
        out[apid == code] = cat
    return out


def pythia_settings(preset: str, signal: bool, fast: bool) -> list[str]:
    """Pythia ``readString`` lines for one class of one preset."""
    p = PRESETS[preset]
    lines = [
        f"Beams:eCM = {p['ecm']}",
        f"PhaseSpace:pTHatMin = {p['pthat'][0]}",
        f"PhaseSpace:pTHatMax = {p['pthat'][1]}",
    ]
    if signal:
        # both W to quarks: every top is a candidate hadronic top jet
        lines += ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"]
    else:
        lines += ["HardQCD:all = on"]
    if fast:
        # multiple parton interactions dominate the CPU time; off for tests and quick runs
        lines += ["PartonLevel:MPI = off"]
    return lines


def hadronic_tops(ev: Event) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """(top four-momentum, [b, q, q'] four-momenta) for each hadronically decaying top."""
    tops = []
    for i in np.flatnonzero(np.abs(ev.pid) == 6):
        i = int(i)
        if ev.last_copy(i) != i:
            continue
        products = ev.daughters(i)
        quarks, ok = [], True
        for d in products:
            ad = abs(int(ev.pid[d]))
            if ad == 5 or ad == 3 or ad == 1:
                quarks.append(ev.p4[d])
            elif ad == 24:
                w = ev.last_copy(int(d))
                wq = [q for q in ev.daughters(w) if 1 <= abs(int(ev.pid[q])) <= 5]
                if len(wq) != 2:
                    ok = False
                quarks += [ev.p4[q] for q in wq]
        if ok and len(quarks) == 3:
            tops.append((ev.p4[i], quarks))
    return tops


def _eta_phi(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p4 = np.atleast_2d(p4)
    return pseudorapidity(p4), np.arctan2(p4[:, 1], p4[:, 0])


def _delta_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ea, pa = _eta_phi(a)
    eb, pb = _eta_phi(b)
    return np.hypot(ea - eb, delta_phi(pa, pb))


def is_top_matched(jet: Jet, tops: list) -> bool:
    """True if a hadronic top and all its decay quarks lie within ΔR<R of the jet."""
    for top, quarks in tops:
        if _delta_r(top, jet.p4)[0] < RADIUS and np.all(_delta_r(np.array(quarks), jet.p4) < RADIUS):
            return True
    return False


def jet_features(ev: Event, jet: Jet) -> np.ndarray:
    """The (20, 6) raw feature matrix of one jet, zero-padded, ptrel-sorted."""
    p4 = ev.p4[jet.constituents]
    pt = np.hypot(p4[:, 0], p4[:, 1])
    order = np.argsort(-pt, kind="stable")
    p4, pt = p4[order], pt[order]
    pid = ev.pid[jet.constituents][order]
    eta, phi = _eta_phi(p4)
    deta = eta - jet.eta
    dphi = delta_phi(phi, jet.phi)
    # principal axis of the pT-weighted constituent cloud, aligned with phi
    w = pt / pt.sum()
    cov = np.cov(np.stack([deta, dphi]), aweights=w) if len(pt) > 1 else np.eye(2)
    vals, vecs = np.linalg.eigh(cov)
    major = vecs[:, np.argmax(vals)]
    angle = np.arctan2(major[0], major[1])  # rotate the major axis onto +phi
    c, s = np.cos(angle), np.sin(angle)
    etarot = c * deta - s * dphi
    phirot = s * deta + c * dphi
    if np.sum(pt * (etarot > 0)) < np.sum(pt * (etarot < 0)):
        etarot = -etarot
    if np.sum(pt * (phirot > 0)) < np.sum(pt * (phirot < 0)):
        phirot = -phirot
    feats = np.stack(
        [pt / jet.pt, etarot, phirot, p4[:, 3] / jet.p4[3], np.hypot(deta, dphi), pdgid_category(pid)], axis=1
    )
    out = np.zeros((N_CONSTITUENTS, len(FEATURES)), dtype=np.float32)
    k = min(N_CONSTITUENTS, len(feats))
    out[:k] = feats[:k]
    return out


def generate_chunk(preset: str, signal: bool, fast: bool, seed: int, n_jets: int) -> np.ndarray:
    """Generate ``n_jets`` raw feature matrices of one class with one Pythia seed.

    The jets come in a fixed order for a given seed, so a smaller request is a
    prefix of a larger one.
    """
    p = PRESETS[preset]
    pythia = make_pythia(pythia_settings(preset, signal, fast), seed)
    lo, hi = p["jet_pt"]

    def features_of(ev, jets):
        tops = hadronic_tops(ev) if signal else []
        for jet in jets[:2]:  # the two leading jets of the hard scatter
            if lo < jet.pt < hi and abs(jet.eta) < p["max_abs_eta"] and (not signal or is_top_matched(jet, tops)):
                yield jet_features(ev, jet)

    return collect_jets(pythia, n_jets, EVENTS_PER_BATCH, RADIUS, 0.5 * lo, 200 * max(n_jets, 10), features_of,
                        f"top tagging preset {preset!r}: too few jets pass the selection")

def generate(
    n: int,
    preset: str = "hls4ml",
    seed: int = 0,
    fast: bool = False,
    test_fraction: float = 0.25,
    workers: int | None = None,
    cache_dir: str | None = None,
    progress: bool = True,
) -> common.Dataset:
    """Generate (or load from cache) a balanced top tagging dataset.

    Parameters
    ----------
    n : int
        Total jets, half top and half QCD, split into train and test.
    preset : {'hls4ml', 'kasieczka'}
    seed : int
        Master seed; the same settings always give the same data.
    fast : bool
        Multiple parton interactions off (about twice as fast; for tests and quick runs).
    test_fraction : float
    workers : int or None
        Processes; None means one per core. Does not change the data.
    cache_dir : str or None
        Cache folder; None means ``data/cache``.
    progress : bool
        Show a tqdm bar over jets.

    Returns
    -------
    Dataset
        ``x`` of shape (n, 20, 6), labels 1 = top, 0 = QCD.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown top tagging preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    common.check_common_args(n, workers, test_fraction)
    counts = common.per_class_counts(n, len(CLASSES))
    settings = {
        "generator": "toptag",
        "preset": preset,
        "n": int(n),
        "seed": int(seed),
        "fast": bool(fast),
        "test_fraction": float(test_fraction),
        "chunk": CHUNK,
        "radius": RADIUS,
        **{k: list(v) if isinstance(v, tuple) else v for k, v in PRESETS[preset].items()},
    }

    def build() -> common.Dataset:
        tasks = common.chunk_tasks(counts, CHUNK)
        args = [(preset, bool(c), fast, pythia_seed(seed, c, k), size) for c, k, size in tasks]
        chunks = common.run_parallel(
            generate_chunk, args, [t[2] for t in tasks], workers, f"toptag {preset}{' fast' if fast else ''}", "jet",
            progress
        )
        # ptrel (column 0) > 0 marks a real constituent
        return common.jet_dataset(chunks, tasks, 0, test_fraction, seed, FEATURES, CLASSES, settings)

    return common.cached_or_build(settings, build, cache_dir)
