/**
 * A perceptually ordered colour map for heatmaps: dark (no evidence) through purple and red to pale yellow
 * (strongest evidence). Brightness rises monotonically, so the map still reads in grey-scale print and for
 * readers with red-green colour blindness. The anchors are samples of the 'inferno' map (van der Walt & Smith);
 * values in between are interpolated linearly.
 */

/** RGB anchors at evenly spaced positions 0, 1/8, ..., 1. */
const INFERNO_ANCHORS: readonly [number, number, number][] = [
  [0, 0, 4],
  [27, 12, 65],
  [66, 10, 104],
  [106, 23, 110],
  [147, 38, 103],
  [188, 55, 84],
  [221, 81, 58],
  [252, 165, 10],
  [252, 255, 164],
];

/** A 256-entry RGB lookup table, built once: index = round(value * 255). */
const TABLE: Uint8Array = buildTable(INFERNO_ANCHORS);

function buildTable(anchors: readonly [number, number, number][]): Uint8Array {
  const table = new Uint8Array(256 * 3);
  const segments = anchors.length - 1;
  for (let i = 0; i < 256; i++) {
    const position = (i / 255) * segments;
    const lower = Math.min(Math.floor(position), segments - 1);
    const fraction = position - lower;
    for (let c = 0; c < 3; c++) {
      const a = anchors[lower][c];
      const b = anchors[lower + 1][c];
      table[i * 3 + c] = Math.round(a + (b - a) * fraction);
    }
  }
  return table;
}

/** The colour for a value in [0, 1] (clamped) as [r, g, b] bytes. */
export function colourFor(value: number): [number, number, number] {
  const index = Math.round(Math.min(1, Math.max(0, Number.isFinite(value) ? value : 0)) * 255) * 3;
  return [TABLE[index], TABLE[index + 1], TABLE[index + 2]];
}
