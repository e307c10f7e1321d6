/**
 * Chi-square goodness of fit, with critical values computed from the
 * distribution itself (regularized incomplete gamma, Numerical Recipes
 * series / continued fraction) rather than copied from a table.
 */

function lnGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const y = x - 1;
  let a = g[0] as number;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += (g[i] as number) / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized upper incomplete gamma Q(a, x). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnPre = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(lnPre);
  }
  // Modified Lentz continued fraction.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(lnPre) * h;
}

/** P(X > x) for X ~ chi-square with `df` degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

/** The x with P(X > x) = alpha, by bisection. */
export function chiSquareCritical(df: number, alpha: number): number {
  let lo = 0;
  let hi = df + 50 * Math.sqrt(2 * df) + 100;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (chiSquareSurvival(mid, df) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Pearson's statistic of observed counts against equal expected counts. */
export function chiSquareUniform(counts: ArrayLike<number>): { statistic: number; df: number } {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] as number;
  const expected = total / counts.length;
  let statistic = 0;
  for (let i = 0; i < counts.length; i++) {
    const d = (counts[i] as number) - expected;
    statistic += (d * d) / expected;
  }
  return { statistic, df: counts.length - 1 };
}

/** The significance level every spread test uses. */
export const ALPHA = 0.001;

/** True when `counts` is consistent with a uniform spread at level {@link ALPHA}. */
export function looksUniform(counts: ArrayLike<number>): {
  ok: boolean;
  statistic: number;
  critical: number;
} {
  const { statistic, df } = chiSquareUniform(counts);
  const critical = chiSquareCritical(df, ALPHA);
  return { ok: statistic <= critical, statistic, critical };
}

/** `counts[i] += 1` (typed arrays start at 0). */
export function bump(counts: Float64Array, i: number): void {
  counts[i] = (counts[i] as number) + 1;
}
