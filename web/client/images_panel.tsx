/**
 * Choosing images: the content image and several style images with blend
 * sliders, each by file picker, drag-and-drop or paste.
 *
 * @module
 */

import type { JSX } from "preact";
import { editRecipe, type PlaygroundState } from "./state.ts";
import { pickImage } from "./images.ts";
import { withoutStyle } from "./mask_paint.ts";

/** Reads the first image of a file list, reporting problems on the state. */
async function firstImage(state: PlaygroundState, files: FileList | File[] | null | undefined) {
  const file = files?.[0];
  if (!file) return undefined;
  try {
    state.imageError.value = undefined;
    return await pickImage(file, file.name || "pasted image");
  } catch (e) {
    state.imageError.value = (e as Error).message;
    return undefined;
  }
}

interface DropZoneProps {
  id: string;
  label: string;
  thumbnail?: string;
  onFiles: (files: FileList | File[]) => void;
}

/** A labelled file input that also takes drops and pastes. */
function DropZone({ id, label, thumbnail, onFiles }: DropZoneProps): JSX.Element {
  return (
    <div
      class="drop"
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        e.preventDefault();
        if (e.dataTransfer?.files.length) onFiles(e.dataTransfer.files);
      }}
      onPaste={(e) => {
        const files = [...(e.clipboardData?.files ?? [])];
        if (files.length) onFiles(files);
      }}
    >
      {thumbnail ? <img src={thumbnail} alt="" class="thumb" /> : null}
      <label for={id}>{label}</label>
      <input
        id={id}
        type="file"
        accept="image/png,image/jpeg,image/webp"
        onChange={(e) => {
          const input = e.currentTarget as HTMLInputElement;
          if (input.files?.length) onFiles(input.files);
          input.value = "";
        }}
      />
      <span class="hint">or drop / paste an image here</span>
    </div>
  );
}

/** The images panel. */
export function ImagesPanel({ state }: { state: PlaygroundState }): JSX.Element {
  const content = state.content.value;
  const styles = state.styles.value;
  const weights = state.recipe.value.styleWeights;
  const weightOf = (i: number) => weights[i] ?? 1;
  const setWeight = (i: number, w: number) =>
    editRecipe(state, (r) => {
      r.styleWeights = styles.map((_, k) => (k === i ? w : weightOf(k)));
    });
  const addStyle = async (files: FileList | File[]) => {
    const image = await firstImage(state, files);
    if (!image) return;
    state.styles.value = [...styles, image];
    editRecipe(state, (r) => {
      r.styleWeights = [...styles.map((_, k) => weightOf(k)), 1];
    });
  };
  const removeStyle = (i: number) => {
    state.styles.value = styles.filter((_, k) => k !== i);
    const masks = state.masks.value;
    if (masks) state.masks.value = withoutStyle(masks, i);
    editRecipe(state, (r) => {
      r.styleWeights = styles.map((_, k) => weightOf(k)).filter((_, k) => k !== i);
    });
  };
  return (
    <section class="panel" aria-labelledby="images-title">
      <h2 id="images-title">Images</h2>
      <DropZone
        id="content-file"
        label={content
          ? `Content: ${content.name} (${content.width}×${content.height})`
          : "Content image"}
        thumbnail={content?.url}
        onFiles={async (files) => {
          const image = await firstImage(state, files);
          if (!image) return;
          state.content.value = image;
          // A painting fits one content image only.
          state.masks.value = undefined;
        }}
      />
      {content
        ? (
          <button
            type="button"
            class="link"
            onClick={() => {
              state.content.value = undefined;
              state.masks.value = undefined;
            }}
          >
            Remove the content image (texture synthesis)
          </button>
        )
        : null}
      <ol class="styles">
        {styles.map((s, i) => (
          <li key={s.url}>
            <img src={s.url} alt="" class="thumb" />
            <label for={`style-weight-${i}`}>
              Style {i + 1}: {s.name} — blend {weightOf(i).toFixed(2)}
            </label>
            <input
              id={`style-weight-${i}`}
              type="range"
              min="0"
              max="1"
              step="0.05"
              value={weightOf(i)}
              onInput={(e) => setWeight(i, Number((e.currentTarget as HTMLInputElement).value))}
            />
            <button
              type="button"
              onClick={() => removeStyle(i)}
              aria-label={`Remove style ${i + 1}`}
            >
              ✕
            </button>
          </li>
        ))}
      </ol>
      <DropZone
        id="style-file"
        label={styles.length ? "Add another style image" : "Style image"}
        onFiles={addStyle}
      />
      {state.imageError.value ? <p class="error" role="alert">{state.imageError.value}</p> : null}
    </section>
  );
}
