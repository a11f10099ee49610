/**
 * The playground's painted masks: brush discs and strokes, each style's mask
 * from the labels, loading a mask image, and removing a style.
 */

import {
  emptyPaint,
  isPainted,
  paintDisc,
  paintFromMask,
  paintStroke,
  styleMasks,
  withoutStyle,
} from "../web/client/mask_paint.ts";
import { assert, assertAlmostEquals, assertEquals } from "./support/assert.ts";

const count = (labels: Uint8Array, label: number) => labels.filter((l) => l === label).length;

Deno.test("a disc covers about πr² pixels, clipped at the edges", () => {
  const paint = emptyPaint(200, 100);
  paintDisc(paint, 100, 50, 20, 1);
  assertAlmostEquals(count(paint.labels, 1) / (Math.PI * 400), 1, 0.02);
  paintDisc(paint, 0, 0, 10, 2);
  assertAlmostEquals(count(paint.labels, 2) / (Math.PI * 100 / 4), 1, 0.1);
});

Deno.test("a stroke leaves no gaps between far apart points; label 0 erases", () => {
  const paint = emptyPaint(100, 20);
  paintStroke(paint, { x: 2, y: 10 }, { x: 98, y: 10 }, { radius: 3, label: 1 });
  for (let x = 2; x < 98; x++) assertEquals(paint.labels[10 * 100 + x], 1);
  paintStroke(paint, { x: 50, y: 0 }, { x: 50, y: 20 }, { radius: 5, label: 0 });
  assertEquals(paint.labels[10 * 100 + 50], 0);
  assert(isPainted(paint));
  assert(!isPainted(emptyPaint(4, 4)) && !isPainted(undefined));
});

Deno.test("each style's mask is where its label is; an unpainted style has none", () => {
  const paint = emptyPaint(4, 1);
  paint.labels.set([1, 0, 3, 3]);
  const masks = styleMasks(paint, 3);
  assertEquals([...masks[0]!], [1, 0, 0, 0]);
  assertEquals(masks[1], undefined);
  assertEquals([...masks[2]!], [0, 0, 1, 1]);
});

Deno.test("a mask image sets one style's region; removing a style renumbers the others", () => {
  const paint = emptyPaint(4, 1);
  paint.labels.set([2, 2, 1, 0]);
  paintFromMask(paint, Float32Array.from([0, 0.9, 0.2, 0.6]), 2);
  assertEquals([...paint.labels], [0, 2, 1, 2]);
  assertEquals([...withoutStyle(paint, 0).labels], [0, 1, 0, 1]);
  assertEquals([...withoutStyle(paint, 1).labels], [0, 0, 1, 0]);
});
