/**
 * The mask painter: paint over the content image where each style image
 * goes (one colour per style), with a brush size, an eraser, undo and clear,
 * or load a mask image for a style. Styles nobody painted take what the
 * painted ones leave.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { PlaygroundState } from "./state.ts";
import { pickImage } from "./images.ts";
import {
  emptyPaint,
  isPainted,
  type MaskPaint,
  overlayRgba,
  paintDisc,
  paintFromMask,
  paintStroke,
  STYLE_COLOURS,
} from "./mask_paint.ts";

/** Most undo steps kept. */
const UNDO_STEPS = 30;

function draw(canvas: HTMLCanvasElement | null, paint: MaskPaint | undefined): void {
  if (!canvas) return;
  if (!paint) {
    canvas.getContext("2d")!.clearRect(0, 0, canvas.width, canvas.height);
    return;
  }
  canvas.width = paint.width;
  canvas.height = paint.height;
  const rgba = overlayRgba(paint);
  canvas.getContext("2d")!.putImageData(
    new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, paint.width, paint.height),
    0,
    0,
  );
}

/** A mask image's grey values at the content image's size, refusing another aspect ratio. */
async function maskFile(
  file: File,
  size: { width: number; height: number },
): Promise<Float32Array> {
  const image = await pickImage(file, file.name || "mask image", { maxSide: 4096 });
  const expected = image.width * size.height / size.width;
  if (Math.abs(expected - image.height) > Math.max(1, image.height * 0.01)) {
    throw new Error(
      `${image.name} is ${image.width}×${image.height} but the content image is ` +
        `${size.width}×${size.height} (another aspect ratio); give a mask of the same shape`,
    );
  }
  const canvas = new OffscreenCanvas(size.width, size.height);
  const g = canvas.getContext("2d")!;
  g.imageSmoothingQuality = "high";
  const bitmap = await createImageBitmap(new Blob([image.bytes as BlobPart], { type: image.type }));
  g.drawImage(bitmap, 0, 0, size.width, size.height);
  bitmap.close();
  URL.revokeObjectURL(image.url);
  const rgba = g.getImageData(0, 0, size.width, size.height).data;
  return Float32Array.from(
    { length: size.width * size.height },
    // Transparent is outside, as on the command line.
    (_, p) => (rgba[4 * p] + rgba[4 * p + 1] + rgba[4 * p + 2]) * rgba[4 * p + 3] / (3 * 255 * 255),
  );
}

/** The masks panel (shown once there are a content image and a style image). */
export function MaskPanel({ state }: { state: PlaygroundState }): JSX.Element | null {
  const content = state.content.value;
  const styles = state.styles.value;
  const paint = state.masks.value;
  const [tool, setTool] = useState(1);
  const [radius, setRadius] = useState(24);
  const [error, setError] = useState<string | undefined>(undefined);
  const canvas = useRef<HTMLCanvasElement>(null);
  const undo = useRef<Uint8Array[]>([]);
  const stroke = useRef<{ paint: MaskPaint; x: number; y: number } | undefined>(undefined);
  useEffect(() => draw(canvas.current, paint), [paint, content]);
  // Undo steps and the brush belong to one content image and one list of styles.
  useEffect(() => {
    undo.current = [];
    setTool(1);
  }, [content, styles.length]);
  if (!content || !styles.length) return null;
  const label = tool > styles.length ? 1 : tool;
  const current = () =>
    paint?.width === content.width && paint.height === content.height
      ? paint
      : emptyPaint(content.width, content.height);
  const commit = (next: MaskPaint) => (state.masks.value = isPainted(next) ? next : undefined);
  const remember = () => {
    undo.current = [...undo.current.slice(-(UNDO_STEPS - 1)), current().labels.slice()];
  };
  const at = (e: PointerEvent) => {
    const rect = (e.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    return {
      x: (e.clientX - rect.left) * content.width / rect.width,
      y: (e.clientY - rect.top) * content.height / rect.height,
    };
  };
  const down = (e: PointerEvent) => {
    // One finger or the main mouse button paints; a second finger does not restart the stroke.
    if (!e.isPrimary || (e.pointerType === "mouse" && e.button !== 0) || stroke.current) return;
    (e.currentTarget as HTMLCanvasElement).setPointerCapture(e.pointerId);
    remember();
    const base = current();
    const working = { ...base, labels: base.labels.slice() };
    const { x, y } = at(e);
    paintDisc(working, x, y, radius, label);
    stroke.current = { paint: working, x, y };
    draw(canvas.current, working);
  };
  const move = (e: PointerEvent) => {
    const s = stroke.current;
    if (!s || !e.isPrimary) return;
    const p = at(e);
    paintStroke(s.paint, s, p, { radius, label });
    s.x = p.x;
    s.y = p.y;
    draw(canvas.current, s.paint);
  };
  const up = (e: PointerEvent) => {
    const s = stroke.current;
    if (!s || !e.isPrimary) return;
    stroke.current = undefined;
    if (e.type === "pointercancel") {
      // The stroke was taken over (a scroll, a gesture): drop it.
      undo.current = undo.current.slice(0, -1);
      draw(canvas.current, paint);
    } else commit(s.paint);
  };
  const load = async (files: FileList | null) => {
    const file = files?.[0];
    if (!file) return;
    try {
      setError(undefined);
      const grey = await maskFile(file, content);
      remember();
      const base = current();
      const next = { ...base, labels: base.labels.slice() };
      paintFromMask(next, grey, label === 0 ? 1 : label);
      commit(next);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const tools = [
    ...styles.map((s, i) => ({ value: i + 1, name: `Style ${i + 1}`, title: s.name })),
    {
      value: 0,
      name: "Eraser",
      title: "unpaint",
    },
  ];
  return (
    <section class="panel masks" aria-labelledby="masks-title">
      <h2 id="masks-title">Masks</h2>
      <p class="hint">
        Paint where each style goes. A style you do not paint takes the rest of the picture.
      </p>
      <div class="mask-tools" role="radiogroup" aria-label="brush">
        {tools.map((t) => (
          <label key={t.value} title={t.title} class="mask-tool">
            <input
              type="radio"
              name="mask-tool"
              id={`mask-tool-${t.value}`}
              checked={label === t.value}
              onChange={() => setTool(t.value)}
            />
            <span
              class="swatch"
              style={{ background: t.value ? STYLE_COLOURS[(t.value - 1) % 8] : "transparent" }}
            />
            {t.name}
          </label>
        ))}
      </div>
      <label for="brush-size">Brush radius: {radius} px</label>
      <input
        id="brush-size"
        type="range"
        min="1"
        max={Math.max(8, Math.round(Math.max(content.width, content.height) / 4))}
        value={radius}
        onInput={(e) => setRadius(Number((e.currentTarget as HTMLInputElement).value))}
      />
      <div
        class="mask-stage"
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => {
          e.preventDefault();
          load(e.dataTransfer?.files ?? null);
        }}
      >
        <img src={content.url} alt="" />
        <canvas
          ref={canvas}
          id="mask-canvas"
          aria-label="paint masks over the content image"
          width={content.width}
          height={content.height}
          onPointerDown={down}
          onPointerMove={move}
          onPointerUp={up}
          onPointerCancel={up}
        />
      </div>
      <div class="mask-actions">
        <button
          type="button"
          id="mask-undo"
          disabled={!undo.current.length}
          onClick={() => {
            const labels = undo.current.pop();
            if (labels) commit({ width: content.width, height: content.height, labels });
          }}
        >
          Undo
        </button>
        <button
          type="button"
          id="mask-clear"
          disabled={!paint}
          onClick={() => {
            remember();
            state.masks.value = undefined;
          }}
        >
          Clear
        </button>
        <label for="mask-file" class="link">
          Load (or drop) a mask image for this style
        </label>
        <input
          id="mask-file"
          type="file"
          accept="image/png,image/jpeg,image/webp"
          onChange={(e) => {
            const input = e.currentTarget as HTMLInputElement;
            load(input.files);
            input.value = "";
          }}
        />
      </div>
      {error ? <p class="error" role="alert">{error}</p> : null}
    </section>
  );
}
