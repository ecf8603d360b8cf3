"""Pythia event generation and anti-kt clustering into flat NumPy arrays.

Both jet generators (top tagging, flavour tagging) share this module: it
starts a seeded Pythia, pulls events in batches through Pythia's own
awkward-array interface (``Pythia.nextBatch``) and clusters the visible final
state with the ``fastjet`` package. Everything downstream works on plain
NumPy arrays per event, which keeps the physics code readable and fast.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np

# Neutrinos leave no trace in a detector, so they never enter a jet.
NEUTRINOS = (12, 14, 16)

# Pythia accepts seeds in [1, 900000000].
_PYTHIA_SEED_RANGE = 900_000_000


@dataclass(frozen=True)
class Event:
    """One generated event as flat NumPy arrays (index 0 is Pythia's system entry).

    Momenta in GeV, production vertices in mm (Pythia's units).
    """

    pid: np.ndarray
    status: np.ndarray
    mother1: np.ndarray
    daughter1: np.ndarray
    daughter2: np.ndarray
    p4: np.ndarray  # (n, 4): px, py, pz, e
    vprod: np.ndarray  # (n, 3): x, y, z of the production vertex

    @property
    def pt(self) -> np.ndarray:
        return np.hypot(self.p4[:, 0], self.p4[:, 1])

    def visible_final(self) -> np.ndarray:
        """Indices of final-state particles a detector sees (no neutrinos)."""
        apid = np.abs(self.pid)
        keep = (self.status > 0) & ~np.isin(apid, NEUTRINOS)
        return np.flatnonzero(keep)

    def last_copy(self, i: int) -> int:
        """Follow Pythia's recoil copies of particle ``i`` down to the one that decays."""
        while True:
            d1, d2 = self.daughter1[i], self.daughter2[i]
            if d1 > 0 and (d2 == d1 or d2 == 0) and self.pid[d1] == self.pid[i]:
                i = int(d1)
            else:
                return i

    def daughters(self, i: int) -> np.ndarray:
        """Direct daughters of particle ``i`` (Pythia's daughter1..daughter2 range)."""
        d1, d2 = int(self.daughter1[i]), int(self.daughter2[i])
        if d1 <= 0:
            return np.empty(0, dtype=np.int64)
        if d2 < d1:
            d2 = d1
        return np.arange(d1, d2 + 1)


@dataclass(frozen=True)
class Jet:
    """A clustered jet: four-momentum and the event indices of its constituents."""

    p4: np.ndarray  # px, py, pz, e
    constituents: np.ndarray

    @property
    def pt(self) -> float:
        return float(np.hypot(self.p4[0], self.p4[1]))

    @property
    def eta(self) -> float:
        return float(pseudorapidity(self.p4[None, :])[0])

    @property
    def phi(self) -> float:
        return float(np.arctan2(self.p4[1], self.p4[0]))


def pythia_seed(*keys: int) -> int:
    """A Pythia seed derived from integer keys (master seed, class, chunk)."""
    state = np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0]
    return int(state) % _PYTHIA_SEED_RANGE + 1


def pseudorapidity(p4: np.ndarray) -> np.ndarray:
    """Pseudorapidity of rows of (px, py, pz, ...), finite for all momenta."""
    pt = np.hypot(p4[:, 0], p4[:, 1])
    return np.arcsinh(p4[:, 2] / np.maximum(pt, 1e-12))


def delta_phi(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """phi difference wrapped into [-pi, pi)."""
    return (np.asarray(a) - np.asarray(b) + np.pi) % (2 * np.pi) - np.pi


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C++ libraries that print banners straight to file descriptor 1."""
    try:
        fd = os.dup(1)
    except OSError:  # no real stdout (some test runners): nothing to silence
        yield
        return
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(fd, 1)
            os.close(fd)


def make_pythia(settings: list[str], seed: int):
    """Start a silent, seeded Pythia with the given ``readString`` settings.

    Parameters
    ----------
    settings : list of str
        Pythia settings lines, e.g. ``"Beams:eCM = 13000."``.
    seed : int
        Random seed in [1, 900000000].
    """
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in ["Print:quiet = on", "Random:setSeed = on", f"Random:seed = {seed}", *settings]:
        if not pythia.readString(line):
            raise ValueError(f"Pythia rejected the setting {line!r}")
    with _quiet_stdout():
        ok = pythia.init()
    if not ok:
        raise RuntimeError(f"Pythia failed to initialise with settings {settings}")
    return pythia


def generate_events(pythia, n_events: int) -> list[Event]:
    """Generate ``n_events`` events and convert them to :class:`Event` objects."""
    import awkward as ak

    with _quiet_stdout():
        batch = pythia.nextBatch(n_events)
    prt = batch.prt
    counts = ak.to_numpy(ak.num(prt))
    offsets = np.concatenate([[0], np.cumsum(counts)])

    def flat(arr) -> np.ndarray:
        return ak.to_numpy(ak.flatten(arr))

    pid, status = flat(prt.id), flat(prt.status)
    mother1, d1, d2 = flat(prt.mother1), flat(prt.daughter1), flat(prt.daughter2)
    p4 = np.stack([flat(prt.p.px), flat(prt.p.py), flat(prt.p.pz), flat(prt.p.e)], axis=1)
    # vProd is optional in the record; a missing vertex means the origin
    vx = ak.fill_none(prt.vProd.px, 0.0)
    vy = ak.fill_none(prt.vProd.py, 0.0)
    vz = ak.fill_none(prt.vProd.pz, 0.0)
    vprod = np.stack([flat(vx), flat(vy), flat(vz)], axis=1)
    events = []
    for a, b in zip(offsets[:-1], offsets[1:]):
        events.append(Event(pid[a:b], status[a:b], mother1[a:b], d1[a:b], d2[a:b], p4[a:b], vprod[a:b]))
    return events


def cluster_antikt(events: list[Event], radius: float, min_pt: float) -> list[list[Jet]]:
    """Cluster each event's visible final state with anti-kt, jets sorted by pT.

    Parameters
    ----------
    events : list of Event
    radius : float
        Anti-kt distance parameter R.
    min_pt : float
        Inclusive jet threshold in GeV.

    Returns
    -------
    list of list of Jet
        Per event, jets with ``pt > min_pt``, hardest first.
    """
    import awkward as ak
    import fastjet

    visible = [ev.visible_final() for ev in events]
    counts = np.array([len(v) for v in visible])
    if counts.sum() == 0:
        return [[] for _ in events]
    p4 = np.concatenate([ev.p4[v] for ev, v in zip(events, visible)])
    # fastjet's vectorised interface clusters all events in one C++ call
    flat = ak.zip({"px": p4[:, 0], "py": p4[:, 1], "pz": p4[:, 2], "E": p4[:, 3]})
    particles = ak.unflatten(flat, counts)
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    with _quiet_stdout():  # fastjet prints its banner on the first clustering
        seq = fastjet.ClusterSequence(particles, jetdef)
        jets = seq.inclusive_jets(min_pt=min_pt)
        index = seq.constituent_index(min_pt=min_pt)
    # flatten once: per-jet awkward indexing is slow
    n_jets = ak.to_numpy(ak.num(jets))
    jet_p4 = np.stack([ak.to_numpy(ak.flatten(jets[k])) for k in ("px", "py", "pz", "E")], axis=1)
    per_jet = ak.flatten(index, axis=1)
    sizes = ak.to_numpy(ak.num(per_jet))
    members_flat = ak.to_numpy(ak.flatten(per_jet))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    out: list[list[Jet]] = []
    k = 0
    for e, vis in enumerate(visible):
        ev_jets = []
        for _ in range(n_jets[e]):
            members = vis[members_flat[starts[k] : starts[k + 1]]]
            ev_jets.append(Jet(jet_p4[k].astype(np.float64), members))
            k += 1
        ev_jets.sort(key=lambda jt: -jt.pt)
        out.append(ev_jets)
    return out


def collect_jets(pythia, n_jets: int, events_per_batch: int, radius: float, min_pt: float, max_events: int,
                 features_of, failure: str) -> np.ndarray:
    """The first ``n_jets`` feature matrices that ``features_of(event, jets)`` yields, event after event.

    ``features_of`` is a generator over one event's selected jets; it is advanced only
    until ``n_jets`` matrices exist, so per-jet random draws (detector smearing) happen
    for the kept jets alone, in order. Raises ``RuntimeError(failure)`` after
    ``max_events`` events without enough jets.
    """
    out: list[np.ndarray] = []
    tried = 0
    while len(out) < n_jets:
        events = generate_events(pythia, events_per_batch)
        tried += len(events)
        if tried > max_events:
            raise RuntimeError(failure)
        for ev, jets in zip(events, cluster_antikt(events, radius, min_pt)):
            for features in features_of(ev, jets):
                out.append(features)
                if len(out) == n_jets:
                    return np.stack(out)
    return np.stack(out)
