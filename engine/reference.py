"""A pure NumPy/SciPy implementation of the engine's model.

It follows the C++ engine step by step (same anatomy, same random draws, same
eikonal update, same action-potential shapes) but computes the ECG the direct
way, sum over nodes of w_e[n] * Vm_n(t) at every sample, and runs the
eikonal heap in interpreted Python. It is the
correctness oracle for the C++ engine and the baseline of ``bench/engine.py``;
it is far too slow for cohorts.
"""

from __future__ import annotations

import functools
import heapq
import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from engine.patient import VirtualPatient

logger = logging.getLogger(__name__)

_M64 = (1 << 64) - 1
_DEG = math.pi / 180.0
_SOURCE_SCALE = -0.07957747154594767  # -1 / (4 pi)
_LEAD_IN_MS, _LEAD_OUT_MS = 2500.0, 400.0
_VENTRICULAR_LEAD_MS, _ATRIAL_LEAD_MS = 150.0, 40.0
_ATRIAL_SPREAD_MS = 25.0  # least smoothing of atrial repolarisation
_FIBRILLATION_MAPS = 4
_STREAMS = {"electrodes": 1, "rhythm": 2, "fibrillation": 3, "noise": 4, "waves": 5}
_SIX = ndimage.generate_binary_structure(3, 1)


# ---------------------------------------------------------------- random draws


def _mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


class RandomStream:
    """The engine's counter-based stream: draw i depends on (seed, stream, i)."""

    def __init__(self, seed: int, stream: str):
        code = _STREAMS[stream]
        self._key = _mix64(seed ^ _mix64((code + 0x632BE59BD9B4E019) & _M64))
        self._counter = 0

    def bits(self) -> int:
        self._counter += 1
        return _mix64((self._key + 0x9E3779B97F4A7C15 * self._counter) & _M64)

    def uniform(self) -> float:
        return ((self.bits() >> 11) + 0.5) * 2.0**-53

    def normal(self) -> float:
        u1, u2 = self.uniform(), self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)


# ---------------------------------------------------------------- anatomy


def _lround(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


@dataclass
class Grid:
    """Tissue nodes: positions (n, 3) in heart mm, neighbours (n, 6)."""

    spacing_mm: float
    position: np.ndarray
    neighbours: np.ndarray


def _voxel_box(lo, hi, h):
    start = [math.floor(v / h) for v in lo]
    size = [math.ceil(v / h) - s + 1 for v, s in zip(hi, start, strict=True)]
    axes = [
        (np.arange(n) + s).astype(float) * h for n, s in zip(size, start, strict=True)
    ]
    z, y, x = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    return x, y, z


def _grid(tissue: np.ndarray, x, y, z, h: float) -> Grid:
    index = np.full(tissue.shape, -1, dtype=np.int64)
    index[tissue] = np.arange(int(tissue.sum()))
    padded = np.pad(index, 1, constant_values=-1)
    core = (slice(1, -1),) * 3
    neighbours = []
    for axis in (2, 1, 0):  # x, y, z in (z, y, x) storage
        for step in (-1, 1):
            shifted = np.roll(padded, -step, axis=axis)[core]
            neighbours.append(shifted[tissue])
    position = np.stack([x[tissue], y[tissue], z[tissue]], axis=1)
    return Grid(h, position, np.stack(neighbours, axis=1))


def _layers(seed: np.ndarray, tissue: np.ndarray, depth: int) -> np.ndarray:
    reached = seed.copy()
    for _ in range(depth):
        reached |= ndimage.binary_dilation(reached, _SIX) & tissue
    return reached & tissue & ~seed


def _q2(x, y, z, centre, a, b, c):
    u, v, w = (x - centre[0]) / a, (y - centre[1]) / b, (z - centre[2]) / c
    return u * u + v * v + w * w


def _wall_fraction(q_in, q_out):
    inv_in, inv_out = 1.0 / np.sqrt(q_in), 1.0 / np.sqrt(q_out)
    return np.clip((1.0 - inv_in) / (inv_out - inv_in), 0.0, 1.0)


def _territory(kind: int, theta, height):
    if kind == 1:
        return ((theta <= 120.0) & (height <= 0.8)) | (height <= 0.2)
    if kind == 2:
        return (theta >= 230.0) & (theta <= 340.0) & (height >= 0.15)
    if kind == 3:
        return (theta >= 120.0) & (theta <= 230.0) & (height >= 0.3)
    return np.zeros_like(theta, dtype=bool)


@dataclass
class Ventricles:
    grid: Grid
    is_rv: np.ndarray
    transmural: np.ndarray
    apicobasal: np.ndarray
    theta_deg: np.ndarray
    fibre: np.ndarray
    lv_endo: np.ndarray
    rv_endo: np.ndarray
    border: np.ndarray
    rv_centre_x: float


def build_ventricles(p) -> Ventricles:
    """Ventricular anatomy of parameter values ``p`` (a mapping)."""
    h = p["grid_spacing_mm"]
    r_lv, l_lv, w_lv = p["lv_radius_mm"], p["lv_length_mm"], p["lv_wall_mm"]
    a_rv, b_rv = 0.75 * p["rv_radius_mm"], 1.2 * p["rv_radius_mm"]
    c_rv, w_rv = 0.8 * l_lv, p["rv_wall_mm"]
    rv_c = (-0.85 * (r_lv + w_lv), 0.0, 0.0)
    reach_y = max(r_lv + w_lv, b_rv + w_rv)
    x, y, z = _voxel_box(
        (rv_c[0] - a_rv - w_rv, -reach_y, -(l_lv + w_lv)),
        (r_lv + w_lv, reach_y, 0.0),
        h,
    )
    origin = (0.0, 0.0, 0.0)
    above = z > 0.0
    q_lv_in = _q2(x, y, z, origin, r_lv, r_lv, l_lv)
    q_lv_out = _q2(x, y, z, origin, r_lv + w_lv, r_lv + w_lv, l_lv + w_lv)
    q_rv_in = _q2(x, y, z, rv_c, a_rv, b_rv, c_rv)
    q_rv_out = _q2(x, y, z, rv_c, a_rv + w_rv, b_rv + w_rv, c_rv + w_rv)
    lv_cavity = ~above & (q_lv_in < 1.0)
    lv_wall = ~above & ~lv_cavity & (q_lv_out <= 1.0)
    rv_cavity = ~above & ~lv_cavity & ~lv_wall & (q_rv_in < 1.0)
    rv_wall = ~above & ~lv_cavity & ~lv_wall & ~rv_cavity & (q_rv_out <= 1.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(lv_wall, _wall_fraction(q_lv_in, q_lv_out), 0.0)
        frac = np.where(rv_wall, _wall_fraction(q_rv_in, q_rv_out), frac)
    height = np.where(lv_wall, np.clip(1.0 + z / (l_lv + w_lv), 0.0, 1.0), 0.0)
    height = np.where(rv_wall, np.clip(1.0 + z / (c_rv + w_rv), 0.0, 1.0), height)
    theta = np.arctan2(y, -x) / _DEG
    theta = np.where(theta < 0.0, theta + 360.0, theta)
    kind = int(p["infarct_territory"])
    scar = lv_wall & _territory(kind, theta, height)
    scar &= frac <= p["infarct_transmurality"]
    tissue = (lv_wall & ~scar) | rv_wall

    layers = max(1, _lround(p["endocardial_layer_mm"] / h))
    lv_endo = _layers(lv_cavity, tissue, layers)
    rv_endo = _layers(rv_cavity, tissue, layers)
    border = np.zeros_like(tissue)
    if p["infarct_border_mm"] > 0.0:
        border = _layers(scar, tissue, max(1, _lround(p["infarct_border_mm"] / h)))

    grid = _grid(tissue, x, y, z, h)
    is_rv = rv_wall[tissue]
    e = frac[tissue]
    rx = grid.position[:, 0] - np.where(is_rv, rv_c[0], 0.0)
    ry = grid.position[:, 1]
    rho = np.sqrt(rx * rx + ry * ry)
    safe = np.where(rho > 1e-9, rho, 1.0)
    cx = np.where(rho > 1e-9, -ry / safe, 0.0)
    cy = np.where(rho > 1e-9, rx / safe, 1.0)
    a_endo, a_epi = p["fibre_angle_endo_deg"] * _DEG, p["fibre_angle_epi_deg"] * _DEG
    alpha = a_endo + (a_epi - a_endo) * e
    fibre = np.stack([np.cos(alpha) * cx, np.cos(alpha) * cy, np.sin(alpha)], axis=1)
    return Ventricles(
        grid, is_rv, e, height[tissue], theta[tissue], fibre,
        lv_endo[tissue], rv_endo[tissue], border[tissue], rv_c[0],
    )  # fmt: skip


def _normalized(v):
    v = np.asarray(v, dtype=float)
    return v / math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])


def _nearest(grid: Grid, point) -> int:
    d = grid.position - np.asarray(point)
    return int(np.argmin(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2]))


@dataclass
class Atria:
    grid: Grid
    bachmann: np.ndarray
    sinus_node: int
    av_node: int


def build_atria(p) -> Atria:
    """Atrial anatomy of parameter values ``p``."""
    r_ra, r_la, w = p["ra_radius_mm"], p["la_radius_mm"], p["atrial_wall_mm"]
    h = min(p["grid_spacing_mm"], 0.5 * w)
    ra = np.array([-18.0, -6.0, 0.75 * r_ra + 4.0])
    la = np.array([14.0, -6.0, 0.75 * r_la + 4.0])
    reach = max(r_ra, r_la) + w
    x, y, z = _voxel_box(
        (ra[0] - r_ra - w, -6.0 - reach, 3.0),
        (la[0] + r_la + w, -6.0 + reach, max(ra[2], la[2]) + reach),
        h,
    )
    d_ra = (
        (x - ra[0]) * (x - ra[0])
        + (y - ra[1]) * (y - ra[1])
        + (z - ra[2]) * (z - ra[2])
    )
    d_la = (
        (x - la[0]) * (x - la[0])
        + (y - la[1]) * (y - la[1])
        + (z - la[2]) * (z - la[2])
    )
    shell = (d_ra <= (r_ra + w) * (r_ra + w)) | (d_la <= (r_la + w) * (r_la + w))
    cavity = (d_ra < r_ra * r_ra) | (d_la < r_la * r_la)
    grid = _grid((z >= 3.0) & shell & ~cavity, x, y, z, h)

    d = grid.position - 0.5 * (ra + la)
    band = _normalized([0.0, 0.55, 0.75])
    across = np.sqrt(d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_angle = (d[:, 1] * band[1] + d[:, 2] * band[2]) / across
    bachmann = (np.abs(d[:, 0]) <= 16.0) & (across > 0.0)
    bachmann &= cos_angle >= math.cos(25.0 * _DEG)
    sinus = _nearest(grid, ra + (r_ra + w) * _normalized([-0.5, 0.2, 0.85]))
    av = _nearest(grid, ra + (r_ra + 0.5 * w) * _normalized([0.55, -0.2, -0.81]))
    return Atria(grid, bachmann, sinus, av)


def heart_pose(p) -> np.ndarray:
    """Rotation (3, 3) whose columns are the heart axes in body coordinates."""
    phi = p["heart_axis_frontal_deg"] * _DEG
    psi = p["heart_axis_tilt_deg"] * _DEG
    spin = p["heart_rotation_deg"] * _DEG
    apex = np.array([math.cos(phi) * math.cos(psi), math.sin(psi),
                     -math.sin(phi) * math.cos(psi)])  # fmt: skip
    z_axis = -1.0 * apex
    ref = _normalized([1.0, -1.0, 0.0])
    x0 = _normalized(ref - float(ref @ z_axis) * z_axis)
    x_axis = math.cos(spin) * x0 + math.sin(spin) * np.cross(z_axis, x0)
    return np.stack([x_axis, np.cross(z_axis, x_axis), z_axis], axis=1)


_SITES = ((-1.2, 170.0), (1.2, 170.0), (0.5, -230.0), (-0.14, 15.0), (0.14, 15.0),
          (0.40, 0.0), (0.65, -25.0), (1.0, -25.0), (1.35, -25.0))  # fmt: skip


def electrode_sites(p, seed: int) -> np.ndarray:
    """Electrode positions (9, 3) in body mm: RA, LA, LL, V1..V6."""
    rng = RandomStream(seed, "electrodes")
    a, b, jitter = (
        p["torso_half_width_mm"],
        p["torso_half_depth_mm"],
        p["electrode_jitter_mm"],
    )
    out = []
    for angle, height in _SITES:
        site = [-30.0 + a * math.sin(angle), -40.0 + b * math.cos(angle), height]
        out.append([v + jitter * rng.normal() for v in site])
    return np.array(out)


def electrode_weights(grid: Grid, pose, sites, gains) -> np.ndarray:
    """Pseudo-ECG weights (n, 9): -g/(4 pi) h sum over neighbours (z_n - z_m)."""
    body = grid.position @ pose.T
    d = body[:, None, :] - sites[None, :, :]
    z = 1.0 / np.sqrt(
        d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] + d[..., 2] * d[..., 2]
    )
    w = np.zeros_like(z)
    for k in range(6):
        nb = grid.neighbours[:, k]
        has = nb >= 0
        w[has] += z[has] - z[nb[has]]
    return w * (np.asarray(gains) * _SOURCE_SCALE * grid.spacing_mm)


# ---------------------------------------------------------------- eikonal


def _solve_face(n, b, t):
    quad, lin, cst = 0.0, 0.0, -1.0
    for i in range(n):
        for j in range(n):
            quad += b[i][j]
            lin += b[i][j] * t[j]
            cst += b[i][j] * t[i] * t[j]
    disc = lin * lin - quad * cst
    if quad <= 0.0 or disc < 0.0:
        return math.inf
    time = (lin + math.sqrt(disc)) / quad
    if any(time < t[i] for i in range(n)):
        return math.inf
    a = [time - t[i] for i in range(n)]
    for i in range(n):
        flow = 0.0
        for j in range(n):
            flow += b[i][j] * a[j]
        if flow < -1e-12:
            return math.inf
    return time


def _tensors(fibre, v_fibre, v_transverse):
    """Per node D = M^-1 and M as nested lists (the local update's inputs)."""
    out = []
    for f, vf, vt in zip(
        fibre.tolist(), v_fibre.tolist(), v_transverse.tolist(), strict=True
    ):
        vf2, vt2 = vf * vf, vt * vt
        dinv = [[f[i] * f[j] * (1.0 / vf2 - 1.0 / vt2) + (1.0 if i == j else 0.0) / vt2
                 for j in range(3)] for i in range(3)]  # fmt: skip
        metric = [[f[i] * f[j] * (vf2 - vt2) + (1.0 if i == j else 0.0) * vt2
                   for j in range(3)] for i in range(3)]  # fmt: skip
        out.append((dinv, metric))
    return out


_PERMUTATIONS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))
_AXIS_SLOT = (1, 3, 9)


def neighbourhood(grid: Grid) -> np.ndarray:
    """(n, 27) node at offset slot (dx+1) + 3 (dy+1) + 9 (dz+1), or -1."""
    nb = grid.neighbours
    n = len(nb)
    table = np.full((n, 27), -1, dtype=np.int64)
    for slot in range(27):
        if slot == 13:
            continue
        offset = (slot % 3 - 1, (slot // 3) % 3 - 1, slot // 9 - 1)
        found = np.full(n, -1, dtype=np.int64)
        for order in _PERMUTATIONS:
            node = np.arange(n)
            for axis in order:
                if offset[axis] != 0:
                    column = 2 * axis + (1 if offset[axis] > 0 else 0)
                    node = np.where(node >= 0, nb[np.maximum(node, 0), column], -1)
            found = np.where(found < 0, node, found)
        table[:, slot] = found
    return table


def _triangle_inverse(q):
    c00 = q[1][1] * q[2][2] - q[1][2] * q[2][1]
    c01 = q[1][2] * q[2][0] - q[1][0] * q[2][2]
    c02 = q[1][0] * q[2][1] - q[1][1] * q[2][0]
    det = q[0][0] * c00 + q[0][1] * c01 + q[0][2] * c02
    return [
        [c00 / det, (q[0][2] * q[2][1] - q[0][1] * q[2][2]) / det,
         (q[0][1] * q[1][2] - q[0][2] * q[1][1]) / det],
        [c01 / det, (q[0][0] * q[2][2] - q[0][2] * q[2][0]) / det,
         (q[0][2] * q[1][0] - q[0][0] * q[1][2]) / det],
        [c02 / det, (q[0][1] * q[2][0] - q[0][0] * q[2][1]) / det,
         (q[0][0] * q[1][1] - q[0][1] * q[1][0]) / det],
    ]  # fmt: skip


def _local_update(around, times, tensor, h):
    """The engine's local update: upwind octant, vertices, one tetrahedron."""
    inf = math.inf

    def time_of(node):
        return times[node] if node >= 0 else inf

    offset, sign, known = [0, 0, 0], [0.0, 0.0, 0.0], False
    for axis in range(3):
        t_lo = time_of(around[13 - _AXIS_SLOT[axis]])
        t_hi = time_of(around[13 + _AXIS_SLOT[axis]])
        offset[axis] = -1 if t_lo <= t_hi else 1
        sign[axis] = float(offset[axis])
        known = known or t_lo != inf or t_hi != inf
    if not known:
        return inf
    t_vertex = [inf] * 8
    for mask in range(1, 8):
        slot = 13
        for axis in range(3):
            if mask & (1 << axis):
                slot += offset[axis] * _AXIS_SLOT[axis]
        t_vertex[mask] = time_of(around[slot])

    d, metric = tensor
    rows = [[0.0, 0.0, 0.0] for _ in range(8)]
    for u in range(1, 8):
        for a in range(3):
            if u & (1 << a):
                for c in range(3):
                    rows[u][c] += sign[a] * sign[c] * d[a][c] * h * h

    def gram(u, v):
        total = 0.0
        for c in range(3):
            if v & (1 << c):
                total += rows[u][c]
        return total

    best = inf
    for v in range(1, 8):
        if t_vertex[v] != inf:
            best = min(best, t_vertex[v] + math.sqrt(gram(v, v)))
    g = [
        0.0 if t_vertex[1 << a] == inf else -sign[a] * (best - t_vertex[1 << a]) / h
        for a in range(3)
    ]
    w = [
        -sign[a] * (metric[a][0] * g[0] + metric[a][1] * g[1] + metric[a][2] * g[2])
        for a in range(3)
    ]
    order = [0, 1, 2]
    for i in range(2):
        for j in range(2 - i):
            if w[order[j]] < w[order[j + 1]]:
                order[j], order[j + 1] = order[j + 1], order[j]
    chain = (1 << order[0], (1 << order[0]) | (1 << order[1]), 7)

    triangle_done = False
    if all(t_vertex[c] != inf for c in chain):
        b = _triangle_inverse([[gram(u, v) for v in chain] for u in chain])
        candidate = _solve_face(3, b, [t_vertex[c] for c in chain])
        best = min(best, candidate)
        triangle_done = candidate != inf
    if not triangle_done:
        for u, v in ((chain[0], chain[1]), (chain[0], chain[2]), (chain[1], chain[2])):
            if t_vertex[u] == inf or t_vertex[v] == inf:
                continue
            guu, gvv, guv = gram(u, u), gram(v, v), gram(u, v)
            det = guu * gvv - guv * guv
            b = [[gvv / det, -guv / det], [-guv / det, guu / det]]
            best = min(best, _solve_face(2, b, [t_vertex[u], t_vertex[v]]))
    return best


def solve_eikonal(grid: Grid, fibre, v_fibre, v_transverse, sources) -> np.ndarray:
    """Activation times (ms): the engine's local update in the same heap order.

    Parameters
    ----------
    grid : Grid
    fibre : ndarray, shape (n, 3)
    v_fibre, v_transverse : ndarray, shape (n,)
        Velocities in mm/ms.
    sources : sequence of (node, time_ms)

    Returns
    -------
    ndarray, shape (n,)
        +inf where no source reaches.
    """
    n, h = len(grid.position), grid.spacing_mm
    tensors = _tensors(np.asarray(fibre), np.asarray(v_fibre), np.asarray(v_transverse))
    table = neighbourhood(grid).tolist()
    neighbours = grid.neighbours.tolist()
    times = [math.inf] * n
    fixed = [False] * n
    for node, t in sources:
        times[node] = min(times[node], t)
        fixed[node] = True
    heap = [(times[node], node) for node, _ in sources]
    heapq.heapify(heap)
    while heap:
        time, node = heapq.heappop(heap)
        if time > times[node]:
            continue
        if not fixed[node]:
            again = _local_update(table[node], times, tensors[node], h)
            if again < times[node] - 1e-9:
                times[node] = again
                heapq.heappush(heap, (again, node))
                continue
        for other in neighbours[node]:
            if other < 0 or fixed[other] or times[other] <= time:
                continue
            update = _local_update(table[other], times, tensors[other], h)
            if update < times[other] - 1e-9:
                times[other] = update
                heapq.heappush(heap, (update, other))
    return np.array(times)


# ---------------------------------------------------------------- action potential


@functools.lru_cache(maxsize=1)
def _mitchell_schaeffer_trace():
    dt, steps = 0.01, 70000
    v, gate = 0.0, 1.0
    trace = [v]
    for i in range(steps):
        t = i * dt
        stimulus = 0.5 if t < 0.5 else 0.0
        dv = gate * v * v * (1.0 - v) / 0.3 - v / 6.0 + stimulus
        dgate = (1.0 - gate) / 120.0 if v < 0.13 else -gate / 150.0
        v += dt * dv
        gate += dt * dgate
        trace.append(v)
    trace = np.array(trace)
    i_peak = int(np.argmax(trace))
    peak = float(trace[i_peak])
    i_up = int(np.argmax(trace[1 : i_peak + 1] >= 0.5 * peak)) + 1
    t_up = (
        i_up - 1 + (0.5 * peak - trace[i_up - 1]) / (trace[i_up] - trace[i_up - 1])
    ) * dt
    after = trace[i_peak + 1 :]
    i_90 = int(np.argmax(after <= 0.1 * peak)) + i_peak + 1
    t_90 = (
        i_90 - 1 + (trace[i_90 - 1] - 0.1 * peak) / (trace[i_90 - 1] - trace[i_90])
    ) * dt
    return trace, peak, i_peak * dt, t_up, t_90


def _sample(trace, t):
    x = t / 0.01
    if x <= 0.0:
        return float(trace[0])
    i = int(x)
    if i + 1 >= len(trace):
        return float(trace[-1])
    f = x - i
    return float(trace[i] * (1.0 - f) + trace[i + 1] * f)


@dataclass
class Shape:
    """Values every ``dt_ms`` from ``t0_ms``; 0 before, the last value after."""

    t0_ms: float
    dt_ms: float
    values: np.ndarray

    def at(self, t):
        x = (np.asarray(t, dtype=float) - self.t0_ms) / self.dt_ms
        grid = np.arange(len(self.values), dtype=float)
        out = np.interp(x, grid, self.values)
        return np.where(x < 0.0, 0.0, out)

    def between_samples(self, t):
        """Linear interpolation that also ramps from 0 one step before t0."""
        x = (np.asarray(t, dtype=float) - self.t0_ms) / self.dt_ms
        grid = np.arange(-1, len(self.values), dtype=float)
        return np.interp(x, grid, np.concatenate([[0.0], self.values]), left=0.0)


def _smooth(values, sigma_ms):
    if sigma_ms <= 0.0:
        return values
    sigma = sigma_ms / 0.5
    half = math.ceil(4.0 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    padded = np.concatenate([np.zeros(half), values, np.full(half, values[-1])])
    return np.convolve(padded, kernel, mode="valid") / kernel.sum()


def _resample(coarse, coarse_t0, t_first, t_last, step):
    m0, m1 = math.ceil(-t_first / step), math.ceil(t_last / step)
    source = Shape(coarse_t0, 0.5, np.asarray(coarse))
    return Shape(-m0 * step, step, source.at(np.arange(-m0, m1 + 1) * step))


@functools.lru_cache(maxsize=16)
def ap_shapes(step_ms: float, smoothing_ms: float, lead_ms: float):
    """Upstroke and repolarisation shapes, as in the engine."""
    trace, peak, t_peak, t_up, t_90 = _mitchell_schaeffer_trace()
    apd = t_90 - t_up
    up_first, up_last = -3.0, t_peak - t_up + 1.0
    s_up = np.arange(up_first, up_last + 1e-9, 0.5)
    up = [
        1.0 if t_up + s >= t_peak else max(0.0, _sample(trace, t_up + s)) / peak
        for s in s_up
    ]
    rep_first, rep_last = -lead_ms, 80.0
    grid_first = rep_first - math.ceil(4.0 * smoothing_ms / 0.5) * 0.5
    rep = []
    for s in np.arange(grid_first, rep_last + 1e-9, 0.5):
        # Faded in over the whole plateau lead, as in the engine.
        c = min(max((s - rep_first) / lead_ms, 0.0), 1.0)
        rep.append(
            c * c * (3.0 - 2.0 * c) * (1.0 - _sample(trace, t_up + apd + s) / peak)
        )
    rep = _smooth(np.array(rep), smoothing_ms)
    upstroke = _resample(up, up_first, up_first, up_last, step_ms)
    repol = _resample(
        rep, grid_first, grid_first, rep_last + 4.0 * smoothing_ms, step_ms
    )
    return upstroke, repol, apd


# ---------------------------------------------------------------- the heart


@dataclass
class Heart:
    ventricles: Ventricles
    atria: Atria
    activation: np.ndarray
    ectopic: np.ndarray | None
    apd: np.ndarray
    atrial_activation: np.ndarray
    fibrillation: list
    v_weights: np.ndarray
    a_weights: np.ndarray
    av_arrival_ms: float


def _lv_point(p, theta_deg, zeta):
    r, l_lv = p["lv_radius_mm"], p["lv_length_mm"]
    z = max(-(1.0 - zeta) * (l_lv + p["lv_wall_mm"]), -0.95 * l_lv)
    radius = r * math.sqrt(1.0 - (z / l_lv) * (z / l_lv))
    return (
        -radius * math.cos(theta_deg * _DEG),
        radius * math.sin(theta_deg * _DEG),
        z,
    )


def _root_sites(p, v: Ventricles):
    g, sources = v.grid, []
    if p["lbbb"] < 0.5:
        sources.append((_nearest(g, _lv_point(p, 0.0, 0.5)), 0.0))
        if p["lafb"] < 0.5:
            sources.append(
                (_nearest(g, _lv_point(p, 75.0, 0.65)), p["lv_anterior_delay_ms"])
            )
        sources.append(
            (_nearest(g, _lv_point(p, 285.0, 0.4)), p["lv_posterior_delay_ms"])
        )
    if p["rbbb"] < 0.5:
        a, b = 0.75 * p["rv_radius_mm"], 1.2 * p["rv_radius_mm"]
        c, d = 0.8 * p["lv_length_mm"], _normalized([-0.7, 0.5, -0.45])
        point = (v.rv_centre_x + a * d[0], b * d[1], c * d[2])
        sources.append((_nearest(g, point), p["rv_delay_ms"]))
    if not sources:
        sources.append((_nearest(g, _lv_point(p, 0.0, 0.9)), 0.0))
    return sources


def _ventricular_conduction(p, v: Ventricles, ectopic: bool):
    cv, fast_cv = p["cv_fibre_m_per_s"], p["cv_endocardium_m_per_s"]
    vf = np.full(len(v.is_rv), cv)
    vt = np.full(len(v.is_rv), cv / p["anisotropy_ratio"])
    lafb = (p["lafb"] >= 0.5) & (v.theta_deg >= 30.0) & (v.theta_deg <= 150.0)
    lafb &= v.apicobasal >= 0.45
    lv_fast = v.lv_endo & (p["lbbb"] < 0.5) & ~lafb
    rv_fast = v.rv_endo & (p["rbbb"] < 0.5)
    fast = (not ectopic) & (v.apicobasal <= 0.9) & (lv_fast | rv_fast)
    vf, vt = np.where(fast, fast_cv, vf), np.where(fast, fast_cv, vt)
    scale = np.where(v.border, 0.5, 1.0)
    return v.fibre, vf * scale, vt * scale


def build_heart(p, seed: int) -> Heart:
    """Anatomy, activation, APD and weights of parameter values ``p``."""
    v, a = build_ventricles(p), build_atria(p)
    activation = solve_eikonal(v.grid, *_ventricular_conduction(p, v, False),
                               _root_sites(p, v))  # fmt: skip
    ectopic = None
    if p["pvc_every_n_beats"] > 0:
        outer = p["lv_radius_mm"] + p["lv_wall_mm"]
        length = p["lv_length_mm"] + p["lv_wall_mm"]
        if int(p["pvc_site"]) == 0:
            point = (v.rv_centre_x, 1.2 * p["rv_radius_mm"], -0.1 * length)
        else:
            point = (0.92 * outer, 0.0, -0.4 * length)
        ectopic = solve_eikonal(v.grid, *_ventricular_conduction(p, v, True),
                                [(_nearest(v.grid, point), 0.0)])  # fmt: skip
    apd = (
        p["apd_ms"]
        + p["apd_transmural_ms"] * (0.5 - v.transmural)
        + p["apd_apicobasal_ms"] * (v.apicobasal - 0.5)
    )
    apd = np.maximum(np.where(v.is_rv, apd + p["apd_rv_offset_ms"], apd), 170.0)

    na = len(a.grid.position)
    cv_a = np.where(a.bachmann, p["cv_bachmann_m_per_s"], p["cv_atrial_m_per_s"])
    a_fibre = np.tile([1.0, 0.0, 0.0], (na, 1))
    atrial = solve_eikonal(a.grid, a_fibre, cv_a, cv_a, [(a.sinus_node, 0.0)])
    fibrillation = []
    if p["atrial_fibrillation"] >= 0.5:
        rng = RandomStream(seed, "fibrillation")
        for _ in range(_FIBRILLATION_MAPS):
            node = min(na - 1, int(rng.uniform() * na))
            fibrillation.append(
                solve_eikonal(a.grid, a_fibre, cv_a, cv_a, [(node, 0.0)])
            )

    pose, sites = heart_pose(p), electrode_sites(p, seed)
    gains = [
        p["torso_gain"] * (p["limb_lead_gain"] if e < 3 else 1.0) for e in range(9)
    ]
    return Heart(
        v, a, activation, ectopic, apd, atrial, fibrillation,
        electrode_weights(v.grid, pose, sites, gains),
        electrode_weights(a.grid, pose, sites, [g * p["atrial_gain"] for g in gains]),
        float(atrial[a.av_node]),
    )  # fmt: skip


# ---------------------------------------------------------------- rhythm and ECG


def _rhythm(p, heart: Heart, end_ms: float, seed: int):
    """Ventricular beats (origin, rr_prev, ectopic, p_on, p_off) and atrial beats."""
    rng = RandomStream(seed, "rhythm")
    rr_mean = 60000.0 / p["heart_rate_bpm"]
    resp_phase = 2.0 * math.pi * rng.uniform()
    t = -_LEAD_IN_MS + 300.0 + rng.uniform() * rr_mean
    af = p["atrial_fibrillation"] >= 0.5
    pvc_every = int(p["pvc_every_n_beats"])
    av = heart.av_arrival_ms + p["av_delay_ms"]
    finite = heart.atrial_activation[np.isfinite(heart.atrial_activation)]
    sigma = math.sqrt(math.log(1.0 + p["af_rr_cv"] ** 2))
    beats, atrial_beats = [], []
    prev_sinus, prev_v, k = t - rr_mean, t + (0.0 if af else av) - rr_mean, 0
    while t < end_ms:
        if af:
            rr = rr_mean * math.exp(sigma * rng.normal() - 0.5 * sigma * sigma)
        else:
            rr = (
                rr_mean
                + p["rsa_amplitude_ms"]
                * math.sin(
                    2.0 * math.pi * p["respiration_rate_hz"] * t / 1000.0 + resp_phase
                )
                + p["hrv_sd_ms"] * rng.normal()
            )
        rr = min(max(rr, max(250.0, 0.4 * rr_mean)), 2.5 * rr_mean)
        origin, p_on, p_off, ectopic = (t if af else t + av), math.nan, math.nan, False
        if not af:
            atrial_beats.append(
                (t, ((t - prev_sinus) / 1000.0) ** p["apd_rate_exponent"])
            )
            p_on, p_off = t + finite.min(), t + finite.max()
        if pvc_every > 0 and k % pvc_every == pvc_every - 1:
            origin = prev_v + p["pvc_coupling"] * (origin - prev_v)
            ectopic, p_on, p_off = True, math.nan, math.nan
        beats.append((origin, origin - prev_v, ectopic, p_on, p_off))
        prev_v, prev_sinus, t, k = origin, t, t + rr, k + 1
    return beats, atrial_beats


def _fibrillation_waves(p, end_ms, seed):
    rng = RandomStream(seed, "waves")
    cycle = p["af_cycle_ms"]
    c, waves = -_LEAD_IN_MS + 50.0, []
    while c < end_ms:
        waves.append((c, min(_FIBRILLATION_MAPS - 1, int(rng.uniform() * 4))))
        c += cycle * (0.75 + 0.5 * rng.uniform())
    return waves


def _add_direct(phi, t, weights, tau, rho, up: Shape, rep: Shape, chunk=4096):
    """phi += sum_n w[n] (U(t - tau_n) - R(t - rho_n)) over the event window."""
    ok = np.isfinite(tau)
    weights, tau, rho = weights[ok], tau[ok], rho[ok]
    if len(tau) == 0:
        return
    # A short APD with a wide smoothing starts the repolarisation shape
    # before the upstroke (fibrillatory waves): the window covers both.
    start = min(tau.min() + up.t0_ms, rho.min() + rep.t0_ms) - up.dt_ms
    stop = rho.max() + rep.t0_ms + rep.dt_ms * len(rep.values)
    window = (t >= start) & (t <= stop)
    tw = t[window]
    for s in range(0, len(tau), chunk):
        vm = up.between_samples(tw[None, :] - tau[s : s + chunk, None])
        vm -= rep.between_samples(tw[None, :] - rho[s : s + chunk, None])
        phi[window] += vm.T @ weights[s : s + chunk]
    after = t > stop
    phi[after] += (1.0 - rep.values[-1]) * weights.sum(axis=0)


def _to_sample(t_ms, step, n):
    if not math.isfinite(t_ms):
        return -1
    x = math.floor(t_ms / step + 0.5) if t_ms >= 0 else -1
    return int(x) if 0 <= x <= n - 1 else -1


def simulate(patient: VirtualPatient, duration_s=10.0, fs=500.0, seed=0) -> dict:
    """Simulate one patient like ``engine._core.simulate``.

    Returns
    -------
    dict
        ``signals`` (n_samples, 12) mV, ``fiducials`` (n_beats, 5) samples,
        ``beat_type`` (n_beats,), ``rr_ms`` (n_beats,), node counts.
    """
    p = dict(patient.values)
    heart = build_heart(p, seed)
    step = 1000.0 / fs
    n = _lround(duration_s * fs)
    duration_ms = n * step
    end_ms = duration_ms + _LEAD_OUT_MS
    t = np.arange(n) * step
    beats, atrial_beats = _rhythm(p, heart, end_ms, seed)
    smoothing = p["repolarisation_smoothing_ms"]
    up, rep_v, _ = ap_shapes(step, smoothing, _VENTRICULAR_LEAD_MS)
    _, rep_a, _ = ap_shapes(step, max(smoothing, _ATRIAL_SPREAD_MS), _ATRIAL_LEAD_MS)
    phi = np.zeros((n, 9))

    for origin, scale in atrial_beats:
        tau = origin + heart.atrial_activation
        rho = tau + p["atrial_apd_ms"] * scale
        _add_direct(phi, t, heart.a_weights, tau, rho, up, rep_a)
    if p["atrial_fibrillation"] >= 0.5:
        apd_af = max(_ATRIAL_LEAD_MS + 20.0, 0.5 * p["af_cycle_ms"])
        for origin, k in _fibrillation_waves(p, end_ms, seed):
            tau = origin + heart.fibrillation[k]
            _add_direct(phi, t, heart.a_weights, tau, tau + apd_af, up, rep_a)

    fiducials, beat_type, rr = [], [], []
    for origin, rr_prev, ectopic, p_on, p_off in beats:
        act = heart.ectopic if ectopic else heart.activation
        scale = (rr_prev / 1000.0) ** p["apd_rate_exponent"]
        tau, rho = origin + act, origin + act + heart.apd * scale
        _add_direct(phi, t, heart.v_weights, tau, rho, up, rep_v)
        finite = np.isfinite(act)
        qrs_on = origin + act[finite].min()
        if not 0.0 <= qrs_on < duration_ms:
            continue
        times = (p_on, p_off, qrs_on, origin + act[finite].max(), rho[finite].max())
        fiducials.append([_to_sample(x, step, n) for x in times])
        beat_type.append(1 if ectopic else 0)
        rr.append(rr_prev)
    phi += _noise(p, n, step, seed)
    return {
        "signals": _leads(phi),
        "fiducials": np.array(fiducials, dtype=np.int32).reshape(-1, 5),
        "beat_type": np.array(beat_type, dtype=np.int32),
        "rr_ms": np.array(rr),
        "n_ventricular_nodes": len(heart.activation),
        "n_atrial_nodes": len(heart.atrial_activation),
    }


def _noise(p, n, step, seed):
    base, mains, muscle = (
        p["noise_baseline_mv"],
        p["noise_mains_mv"],
        p["noise_muscle_mv"],
    )
    out = np.zeros((n, 9))
    if base == 0.0 and mains == 0.0 and muscle == 0.0:
        return out
    rng = RandomStream(seed, "noise")
    draws = [(0.1 + 0.3 * rng.uniform(), 2 * math.pi * rng.uniform(),
              2 * math.pi * rng.uniform()) for _ in range(9)]  # fmt: skip
    t_s = np.arange(n) * step / 1000.0
    for e, (hz, phase, mains_phase) in enumerate(draws):
        out[:, e] = base * np.sin(2 * math.pi * hz * t_s + phase) + mains * np.sin(
            2 * math.pi * p["mains_frequency_hz"] * t_s + mains_phase
        )
    white = np.array([[rng.normal() for _ in range(9)] for _ in range(n)])
    return out + muscle * white


def _leads(phi: np.ndarray) -> np.ndarray:
    ra, la, ll = phi[:, 0], phi[:, 1], phi[:, 2]
    wilson = (ra + la + ll) / 3.0
    limb = [la - ra, ll - ra, ll - la, ra - 0.5 * (la + ll), la - 0.5 * (ra + ll),
            ll - 0.5 * (ra + la)]  # fmt: skip
    return np.stack(limb + [phi[:, 3 + i] - wilson for i in range(6)], axis=1)
