/**
 * Eigenvalues of a real symmetric matrix: Householder reduction to tridiagonal form, then the
 * implicit QL algorithm with Wilkinson shifts (Golub & Van Loan, "Matrix Computations", §8.3).
 * Only eigenvalues are computed, which is all tr √(Σ₁Σ₂) needs; skipping the eigenvectors makes
 * a 2048×2048 matrix a matter of seconds (a general eigen-decomposition library with vectors
 * takes minutes at that size in JavaScript).
 */
import type { DenseMatrix } from './dense-matrix';
import { EventLoopPause } from './event-loop-pause';

const EPSILON = 2 ** -52;

interface Reflector {
  /** Off-diagonal entry the reflection leaves in the reduced column. */
  alpha: number;
  /** H = I − β v vᵀ; β = 0 when the column is already reduced. */
  beta: number;
}

/**
 * Householder vector of x = a[start..n−1, column], written into v[start..n−1], such that
 * (I − β v vᵀ) x = α e₁.
 */
function reflectorOfColumn(a: Float64Array, n: number, column: number, start: number, v: Float64Array): Reflector {
  const x0 = a[start * n + column]!;
  let tailNorm2 = 0;
  for (let i = start + 1; i < n; i++) {
    const x = a[i * n + column]!;
    v[i] = x;
    tailNorm2 += x * x;
  }
  if (tailNorm2 === 0) {
    v.fill(0, start, n);
    return { alpha: x0, beta: 0 };
  }
  const norm = Math.sqrt(x0 * x0 + tailNorm2);
  // α takes the sign opposite to x₀ so that v₀ = x₀ − α does not cancel.
  const alpha = x0 >= 0 ? -norm : norm;
  v[start] = x0 - alpha;
  return { alpha, beta: 2 / (v[start]! ** 2 + tailNorm2) };
}

/**
 * Diagonal d and off-diagonal e (e[i] couples i and i+1) of QᵀAQ. Only the lower triangle of
 * `a` is read and updated, and each step's rank-2 update is fused with the next step's
 * product A₂₂v, so every step streams half the trailing matrix once.
 */
async function tridiagonalize(a: Float64Array, n: number, signal: AbortSignal | undefined): Promise<{ d: Float64Array; e: Float64Array }> {
  const pause = new EventLoopPause(undefined, signal);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  let v = new Float64Array(n);
  let nextV = new Float64Array(n);
  let product = new Float64Array(n); // A₂₂ v of the current step
  let nextProduct = new Float64Array(n);
  const w = new Float64Array(n);

  let reflector = n > 1 ? reflectorOfColumn(a, n, 0, 1, v) : { alpha: 0, beta: 0 };
  for (let i = 1; i < n; i++) {
    let sum = 0;
    for (let j = 1; j <= i; j++) sum += a[i * n + j]! * v[j]!;
    for (let j = i + 1; j < n; j++) sum += a[j * n + i]! * v[j]!;
    product[i] = sum;
  }

  for (let k = 0; k < n - 2; k++) {
    await pause.maybePause();
    const first = k + 1;
    d[k] = a[k * n + k]!;
    e[k] = reflector.alpha;
    const { beta } = reflector;

    // p = β A₂₂ v;  w = p − (β/2)(pᵀv) v, so that H A₂₂ H = A₂₂ − v wᵀ − w vᵀ.
    let pDotV = 0;
    for (let i = first; i < n; i++) pDotV += beta * product[i]! * v[i]!;
    const shift = (beta / 2) * pDotV;
    for (let i = first; i < n; i++) w[i] = beta * product[i]! - shift * v[i]!;

    const vFirst = v[first]!;
    const wFirst = w[first]!;
    for (let i = first; i < n; i++) a[i * n + first] = a[i * n + first]! - v[i]! * wFirst - w[i]! * vFirst;

    const hasNext = k + 1 < n - 2;
    const next = hasNext ? reflectorOfColumn(a, n, first, first + 1, nextV) : { alpha: 0, beta: 0 };
    if (!hasNext) nextV.fill(0);
    nextProduct.fill(0, first + 1, n);
    for (let i = first + 1; i < n; i++) {
      const rowStart = i * n;
      const vi = v[i]!;
      const wi = w[i]!;
      const nextVi = nextV[i]!;
      let sum = 0;
      for (let j = first + 1; j < i; j++) {
        const updated = a[rowStart + j]! - vi * w[j]! - wi * v[j]!;
        a[rowStart + j] = updated;
        sum += updated * nextV[j]!;
        nextProduct[j] = nextProduct[j]! + updated * nextVi;
      }
      const diagonal = a[rowStart + i]! - 2 * vi * wi;
      a[rowStart + i] = diagonal;
      nextProduct[i] = nextProduct[i]! + sum + diagonal * nextVi;
    }
    [v, nextV] = [nextV, v];
    [product, nextProduct] = [nextProduct, product];
    reflector = next;
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + (n - 2)]!;
    e[n - 2] = a[(n - 1) * n + (n - 2)]!;
  }
  d[n - 1] = a[(n - 1) * n + (n - 1)]!;
  e[n - 1] = 0;
  return { d, e };
}

/** Eigenvalues of the symmetric tridiagonal matrix (d, e) by implicit QL; d is overwritten. */
function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  let accumulatedShift = 0;
  let scale = 0;
  for (let l = 0; l < n; l++) {
    scale = Math.max(scale, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n && Math.abs(e[m]!) > EPSILON * scale) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 60) throw new Error('The symmetric eigenvalue iteration did not converge; the matrix may hold NaN or infinite values.');
        // Wilkinson shift from the leading 2×2 block.
        const g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        const h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        accumulatedShift += h;

        // Chase the bulge with Givens rotations from m−1 down to l.
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          const gi = c * e[i]!;
          const hi = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * gi;
          d[i + 1] = hi + s * (c * gi + s * d[i]!);
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > EPSILON * scale);
    }
    d[l] = d[l]! + accumulatedShift;
    e[l] = 0;
  }
  return d.sort();
}

/** Eigenvalues, ascending, of a symmetric matrix (only its lower triangle is read); `signal` stops the reduction. */
export async function symmetricEigenvalues(matrix: DenseMatrix, signal?: AbortSignal): Promise<Float64Array> {
  const n = matrix.rows;
  if (matrix.cols !== n) throw new Error(`Eigenvalues need a square matrix, got ${matrix.rows}×${matrix.cols}.`);
  if (n === 0) return new Float64Array(0);
  const { d, e } = await tridiagonalize(Float64Array.from(matrix.data), n, signal);
  return tridiagonalEigenvalues(d, e);
}
