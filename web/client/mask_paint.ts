/**
 * Painted masks: one label per pixel of the content image (0: unpainted,
 * k: style image k), painted with round brushes. Each style's mask is where
 * its label is; a style nobody painted gets no mask, so the core gives it
 * what the painted styles leave.
 *
 * @module
 */

/** A painting over the content image. */
export interface MaskPaint {
  /** Width in pixels (the content image's). */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** One label per pixel, row-major: 0 unpainted, k for style image k (1-based). */
  readonly labels: Uint8Array;
}

/** One colour per style image (at most 8 in a share), for the overlay and the palette. */
export const STYLE_COLOURS: readonly string[] = [
  "#e6194b",
  "#3cb44b",
  "#4363d8",
  "#f58231",
  "#911eb4",
  "#42d4f4",
  "#f032e6",
  "#bfef45",
];

/** An unpainted canvas of `width × height`. */
export function emptyPaint(width: number, height: number): MaskPaint {
  return { width, height, labels: new Uint8Array(width * height) };
}

/** Paints a disc of `radius` px at (x, y) with `label` (0 erases). */
export function paintDisc(
  paint: MaskPaint,
  x: number,
  y: number,
  radius: number,
  label: number,
): void {
  const { width, height, labels } = paint;
  const r2 = radius * radius;
  for (let py = Math.max(0, Math.floor(y - radius)); py <= Math.min(height - 1, y + radius); py++) {
    for (
      let px = Math.max(0, Math.floor(x - radius));
      px <= Math.min(width - 1, x + radius);
      px++
    ) {
      if ((px + 0.5 - x) ** 2 + (py + 0.5 - y) ** 2 <= r2) labels[py * width + px] = label;
    }
  }
}

/** Paints a stroke from one point to the next: discs at most half a radius apart. */
export function paintStroke(
  paint: MaskPaint,
  from: { x: number; y: number },
  to: { x: number; y: number },
  options: { radius: number; label: number },
): void {
  const steps = Math.max(
    1,
    Math.ceil(Math.hypot(to.x - from.x, to.y - from.y) / (options.radius / 2 || 1)),
  );
  for (let i = 1; i <= steps; i++) {
    const t = i / steps;
    paintDisc(
      paint,
      from.x + (to.x - from.x) * t,
      from.y + (to.y - from.y) * t,
      options.radius,
      options.label,
    );
  }
}

/** Whether anything is painted. */
export function isPainted(paint: MaskPaint | undefined): boolean {
  return paint !== undefined && paint.labels.some((l) => l > 0);
}

/** Each style image's mask (1 where its label is), or `undefined` where it has none painted. */
export function styleMasks(paint: MaskPaint, styles: number): (Float32Array | undefined)[] {
  return Array.from({ length: styles }, (_, k) => {
    if (!paint.labels.includes(k + 1)) return undefined;
    return Float32Array.from(paint.labels, (l) => (l === k + 1 ? 1 : 0));
  });
}

/** Sets style `label`'s region from a grey mask (planar values in [0, 1]; > 0.5 is inside). */
export function paintFromMask(paint: MaskPaint, grey: Float32Array, label: number): void {
  for (let p = 0; p < paint.labels.length; p++) {
    if (grey[p] > 0.5) paint.labels[p] = label;
    else if (paint.labels[p] === label) paint.labels[p] = 0;
  }
}

/** The painting after style `index` (0-based) is removed: its pixels unpainted, later labels moved down. */
export function withoutStyle(paint: MaskPaint, index: number): MaskPaint {
  const k = index + 1;
  return {
    ...paint,
    labels: paint.labels.map((l) => (l === k ? 0 : l > k ? l - 1 : l)),
  };
}

/** The RGBA overlay of a painting: each label in its style's colour, half transparent. */
export function overlayRgba(paint: MaskPaint): Uint8ClampedArray {
  const rgb = STYLE_COLOURS.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));
  const out = new Uint8ClampedArray(4 * paint.labels.length);
  paint.labels.forEach((l, p) => {
    if (l === 0) return;
    const [r, g, b] = rgb[(l - 1) % rgb.length];
    out.set([r, g, b, 128], 4 * p);
  });
  return out;
}

/** A mask as opaque RGBA (white inside, black outside), for a PNG. */
export function maskRgba(mask: Float32Array): Uint8ClampedArray {
  const out = new Uint8ClampedArray(4 * mask.length);
  mask.forEach((v, p) => {
    const g = Math.round(v * 255);
    out.set([g, g, g, 255], 4 * p);
  });
  return out;
}
