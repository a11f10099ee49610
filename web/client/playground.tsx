/**
 * The playground island: images, settings, costs, Start/Stop with live
 * preview and progress, download and share. Rendered on the server with the
 * same props, then hydrated in the browser.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useMemo, useRef } from "preact/hooks";
import { CostsPanel, SettingsPanel } from "./settings_panel.tsx";
import { ImagesPanel } from "./images_panel.tsx";
import { PluginPanel } from "./plugin_panel.tsx";
import { loadSources } from "./source_plugins.ts";
import { deleteTokenFor, forgetDeleteToken, shareIdOf } from "./share_tokens.ts";
import { MaskPanel } from "./mask_panel.tsx";
import { emptyPaint, paintFromMask } from "./mask_paint.ts";
import {
  alreadyShared,
  inputsKey,
  resultIsCurrent,
  runnableRecipe,
  Runner,
  shareKey,
  shareRun,
} from "./runner.ts";
import { createState, type PlaygroundProps, type PlaygroundState, progressOf } from "./state.ts";
import { pickImage } from "./images.ts";

/** Loads a share's images and result into the state. */
async function restoreShare(state: PlaygroundState, props: PlaygroundProps): Promise<void> {
  const share = props.share;
  if (!share) return;
  const load = async (url: string, name: string) =>
    pickImage(await (await fetch(url)).blob(), name);
  try {
    // The share's own plugins first: its costs name them.
    const sources = props.recipe.sources;
    if (sources?.length) {
      const problem = await loadSources(state, sources);
      if (problem) throw new Error(`its plugin code: ${problem.message}`);
    }
    if (share.content) {
      state.content.value = await load(share.content, share.names.content ?? "content image");
    }
    state.styles.value = await Promise.all(
      share.styles.map((u, i) => load(u, share.names.styles[i] ?? `style image ${i + 1}`)),
    );
    const content = state.content.value;
    if (content && share.styleMasks.some((m) => m)) {
      const paint = emptyPaint(content.width, content.height);
      for (const [i, url] of share.styleMasks.entries()) {
        if (!url) continue;
        const mask = await load(url, `shared mask ${i + 1}`);
        // A grey mask: its red plane is its value.
        paintFromMask(paint, mask.planar.subarray(0, mask.width * mask.height), i + 1);
      }
      state.masks.value = paint;
    }
    const result = await load(share.result, "shared result");
    const canvas = new OffscreenCanvas(result.width, result.height);
    const g = canvas.getContext("2d")!;
    g.drawImage(
      await createImageBitmap(new Blob([result.bytes as BlobPart], { type: result.type })),
      0,
      0,
    );
    state.image.value = {
      width: result.width,
      height: result.height,
      rgba: g.getImageData(0, 0, result.width, result.height).data,
    };
    state.finished.value = true;
    state.status.value = { phase: "done", message: "the shared result; Start runs it again" };
    // This page is that share: Share stays off until something changes.
    state.resultFrom.value = inputsKey(state);
    state.shared.value = {
      url: new URL(`/s/${encodeURIComponent(share.id)}`, location.href).href,
      key: shareKey(state),
    };
  } catch (e) {
    state.status.value = {
      phase: "error",
      message: `the shared images could not be loaded: ${(e as Error).message}`,
    };
  }
}

function Preview({ state }: { state: PlaygroundState }): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  const image = state.image.value;
  const { tile, size } = state.status.value;
  useEffect(() => {
    const c = canvas.current;
    if (!c || !image) return;
    c.width = image.width;
    c.height = image.height;
    const g = c.getContext("2d")!;
    g.putImageData(
      new ImageData(image.rgba as Uint8ClampedArray<ArrayBuffer>, image.width, image.height),
      0,
      0,
    );
    // A long evaluation in tiles: the tiles done so far in this pass, shaded.
    if (!tile || !size) return;
    const scale = image.width / size.width;
    g.fillStyle = tile.pass === 1 ? "rgba(80, 140, 255, 0.25)" : "rgba(80, 220, 120, 0.25)";
    g.strokeStyle = "rgba(255, 255, 255, 0.8)";
    g.lineWidth = Math.max(1, image.width / 256);
    for (const r of tile.regions) {
      g.fillRect(r.x * scale, r.y * scale, r.width * scale, r.height * scale);
      g.strokeRect(r.x * scale, r.y * scale, r.width * scale, r.height * scale);
    }
  }, [image, tile, size]);
  return (
    <canvas
      ref={canvas}
      id="preview"
      class={image ? "preview" : "preview empty"}
      role="img"
      aria-label={image ? "the stylised image" : "the preview appears here"}
      width={256}
      height={256}
    />
  );
}

function Status({ state }: { state: PlaygroundState }): JSX.Element {
  const s = state.status.value;
  const problem = state.problem.value;
  const running = s.phase === "loading" || s.phase === "running";
  const parts: string[] = [];
  if (s.scale) parts.push(`scale ${s.scale}/${s.scales}`);
  if (s.iteration) parts.push(`iteration ${s.iteration}/${s.iterations}`);
  if (s.tile) {
    parts.push(
      `tile ${s.tile.done}/${s.tile.windows} (${s.tile.pass === 1 ? "statistics" : "gradient"})`,
    );
  }
  if (s.msPerIteration) parts.push(`${Math.round(s.msPerIteration)} ms/iteration`);
  if (s.backend) parts.push(s.backend);
  return (
    <div class="status" aria-live="polite">
      <p id="status-line">{parts.join(" · ") || (s.message || problem ? "" : "ready")}</p>
      {s.terms
        ? (
          <p id="status-terms" class="status-note">
            {Object.entries(s.terms).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(" · ")}
          </p>
        )
        : null}
      {(s.notes ?? []).map((note, i) => <p key={i} class="status-note">{note}</p>)}
      {s.message
        ? <p id="status-message" class={s.phase === "error" ? "error" : ""}>{s.message}</p>
        : null}
      {/* Said beside Start too: on a phone the settings panel that says it may be far away. */}
      {problem && !running ? <p id="start-problem" class="error">Start is off: {problem}</p> : null}
    </div>
  );
}

function Actions({ state }: { state: PlaygroundState }): JSX.Element {
  const image = state.image.value;
  const shared = state.shared.value;
  const unchanged = state.finished.value && alreadyShared(state);
  const stale = state.finished.value && !resultIsCurrent(state);
  const download = async () => {
    if (!image) return;
    const { encodePng } = await import("./images.ts");
    const url = URL.createObjectURL(await encodePng(image.rgba, image.width, image.height));
    const a = document.createElement("a");
    a.href = url;
    a.download = "stylegram.png";
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <div class="actions">
      <button type="button" id="download" onClick={download} disabled={!image}>Download PNG</button>
      <button
        type="button"
        id="download-recipe"
        title="the settings, costs and plugin code as a JSON recipe (the command line runs it too)"
        onClick={() => {
          const text = JSON.stringify(runnableRecipe(state), null, 2) + "\n";
          const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
          const a = document.createElement("a");
          a.href = url;
          a.download = "stylegram-recipe.json";
          a.click();
          setTimeout(() => URL.revokeObjectURL(url), 10_000);
        }}
      >
        Download recipe
      </button>
      <button
        type="button"
        id="share"
        onClick={() => shareRun(state)}
        disabled={!state.finished.value || shared.busy || unchanged || stale}
        title={unchanged
          ? "this is shared already: change something to share again"
          : stale
          ? "the settings or images changed since this result: run again to share"
          : undefined}
      >
        {shared.busy ? "Sharing…" : unchanged ? "Shared" : "Share"}
      </button>
      {shared.url
        ? (
          <div class="share-link">
            <label for="share-url">Link</label>
            <input
              id="share-url"
              readOnly
              value={shared.url}
              onFocus={(e) => (e.currentTarget as HTMLInputElement).select()}
            />
            <button type="button" onClick={() => navigator.clipboard?.writeText(shared.url!)}>
              Copy
            </button>
            <DeleteShare state={state} url={shared.url} />
          </div>
        )
        : null}
      {shared.error ? <p class="error" role="alert">{shared.error}</p> : null}
    </div>
  );
}

/** "Delete this share", for a share made in this browser (its delete token is kept here). */
function DeleteShare({ state, url }: { state: PlaygroundState; url: string }): JSX.Element | null {
  const id = shareIdOf(url);
  const token = id && deleteTokenFor(id);
  if (!id || !token) return null;
  const remove = async () => {
    if (!confirm("Delete this share? The link will stop working.")) return;
    const res = await fetch(`/api/shares/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status === 204 || res.status === 404) {
      forgetDeleteToken(id);
      state.shared.value = {};
      state.status.value = { ...state.status.value, message: "the share was deleted" };
    } else {
      state.shared.value = { ...state.shared.value, error: `deleting failed: HTTP ${res.status}` };
    }
  };
  return <button type="button" id="delete-share" onClick={remove}>Delete this share</button>;
}

/** The playground. */
export function Playground(props: PlaygroundProps): JSX.Element {
  const state = useMemo(() => createState(props), []);
  const runner = useMemo(() => new Runner(state, props.assets), []);
  useEffect(() => {
    restoreShare(state, props);
  }, []);
  const phase = state.status.value.phase;
  const busy = phase === "loading" || phase === "running";
  return (
    <div class="playground">
      <div class="controls">
        <ImagesPanel state={state} />
        <MaskPanel state={state} />
        <SettingsPanel state={state} />
        <CostsPanel state={state} networks={props.networks} />
        <PluginPanel state={state} editorUrl={props.assets.editor} styleNonce={props.styleNonce} />
      </div>
      <div class="output">
        {/* On a phone this bar sticks to the bottom of the screen: Start and Stop stay in reach. */}
        <div class="run-bar">
          <div class="run">
            <button
              type="button"
              id="start"
              class="primary"
              onClick={() => runner.start()}
              disabled={busy || state.problem.value !== undefined}
            >
              {state.finished.value ? "Run again" : "Start"}
            </button>
            <button type="button" id="stop" onClick={() => runner.stop()} disabled={!busy}>
              Stop
            </button>
            <progress
              id="progress"
              max={1}
              value={progressOf(state.status.value)}
              aria-label="progress"
            />
          </div>
          <Status state={state} />
        </div>
        <Preview state={state} />
        <Actions state={state} />
      </div>
    </div>
  );
}
