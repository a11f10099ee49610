/**
 * Server-rendered pages: the playground island rendered to HTML with its
 * props embedded for hydration (the Fresh shape: a static page with one
 * interactive island), Open Graph tags for shared results, and a 404 page.
 *
 * @module
 */

import type { JSX } from "preact";
import { renderToString } from "preact-render-to-string";
import { defaultRecipe, type Recipe } from "../../mod.ts";
import { Playground } from "../client/playground.tsx";
import type { PlaygroundProps, SharedRun } from "../client/state.ts";
import type { AssetManifest } from "../build.ts";

/** A stored share as the pages need it: the recipe and image hashes. */
export interface ShareForPage {
  /** The share's id. */
  id: string;
  /** Its recipe. */
  recipe: Recipe;
  /** Content image hash (null for a texture). */
  content: string | null;
  /** Style image hashes. */
  styles: string[];
  /** Result image hash. */
  result: string;
  /** Per style image, its mask's hash or null (absent: no masks). */
  styleMasks?: (string | null)[];
  /** The images' file names (absent in older shares). */
  names?: { content: string | null; styles: string[] };
}

/** What a page is rendered from. */
export type PageRequest =
  | { kind: "home"; origin?: string; nonce?: string }
  | { kind: "share"; origin?: string; nonce?: string; share: ShareForPage }
  | { kind: "notFound"; origin?: string };

/** The playground's starting recipe: the defaults a browser runs (a smaller size, fewer iterations). */
export function playgroundRecipe(): Recipe {
  return defaultRecipe({ browser: true });
}

const imageUrl = (sha: string) => `/api/images/${sha}`;

/** Escapes JSON for a <script> element (no "</script>" or HTML comments inside). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(
    /&/g,
    "\\u0026",
  );
}

function Document(
  { title, description, manifest, og, children, props }: {
    title: string;
    description: string;
    manifest: AssetManifest;
    og?: { url: string; image: string };
    props?: PlaygroundProps;
    children: JSX.Element;
  },
): JSX.Element {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <meta name="description" content={description} />
        <meta property="og:title" content={title} />
        <meta property="og:description" content={description} />
        <meta property="og:type" content="website" />
        {og ? <meta property="og:url" content={og.url} /> : null}
        {og ? <meta property="og:image" content={og.image} /> : null}
        {og ? <meta name="twitter:card" content="summary_large_image" /> : null}
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={manifest.css} />
        <link rel="modulepreload" href={manifest.app} />
      </head>
      <body>
        <header>
          <h1>
            <a href="/">stylegram</a>
          </h1>
          <p>Neural style transfer in your browser: pick a photo and a painting, press Start.</p>
        </header>
        <main>{children}</main>
        <footer>
          Runs entirely on your device (WebGPU or WebAssembly). Images leave it only when you share.
        </footer>
        {props
          ? (
            <script
              id="playground-props"
              type="application/json"
              dangerouslySetInnerHTML={{ __html: scriptJson(props) }}
            />
          )
          : null}
        {props ? <script type="module" src={manifest.app} /> : null}
      </body>
    </html>
  );
}

/**
 * A page renderer over the built assets.
 *
 * @example
 * ```ts
 * const render = pageRenderer(manifest);
 * const html = render({ kind: "home", origin: "http://localhost:8000" });
 * ```
 */
export function pageRenderer(manifest: AssetManifest): (request: PageRequest) => string {
  return (request) => {
    if (request.kind === "notFound") {
      return "<!doctype html>" + renderToString(
        <Document
          title="Not found · stylegram"
          description="This page does not exist."
          manifest={manifest}
        >
          <section class="panel">
            <h2>Nothing here</h2>
            <p>
              This link is unknown or has expired. <a href="/">Open the playground</a>.
            </p>
          </section>
        </Document>,
      );
    }
    const share: SharedRun | undefined = request.kind === "share"
      ? {
        id: request.share.id,
        content: request.share.content && imageUrl(request.share.content),
        styles: request.share.styles.map(imageUrl),
        result: imageUrl(request.share.result),
        styleMasks: (request.share.styleMasks ?? []).map((m) => m && imageUrl(m)),
        names: request.share.names ?? {
          content: request.share.content && "shared content",
          styles: request.share.styles.map((_, i) => `shared style ${i + 1}`),
        },
      }
      : undefined;
    const props: PlaygroundProps = {
      recipe: request.kind === "share" ? request.share.recipe : playgroundRecipe(),
      networks: manifest.networks,
      assets: { worker: manifest.worker, bundles: manifest.bundles, editor: manifest.editor },
      share,
      ...(request.nonce ? { styleNonce: request.nonce } : {}),
    };
    // Link previews need absolute URLs: only with the configured origin.
    const og = request.kind === "share" && request.origin
      ? {
        url: `${request.origin}/s/${request.share.id}`,
        image: `${request.origin}${imageUrl(request.share.result)}`,
      }
      : undefined;
    return "<!doctype html>" + renderToString(
      <Document
        title={share ? "A shared stylisation · stylegram" : "stylegram playground"}
        description={share
          ? "Made with stylegram, neural style transfer in the browser. Open it to see the settings and run it again."
          : "Neural style transfer (Gatys et al.) in the browser, on WebGPU or WebAssembly."}
        manifest={manifest}
        og={og}
        props={props}
      >
        <div id="playground">
          <Playground {...props} />
        </div>
      </Document>,
    );
  };
}
