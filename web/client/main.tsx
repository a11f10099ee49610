/**
 * The page script: hydrates the server-rendered playground island with the
 * props the server embedded in the page.
 *
 * @module
 */

import { hydrate } from "preact";
import { Playground } from "./playground.tsx";
import type { PlaygroundProps } from "./state.ts";

const root = document.getElementById("playground");
const props = document.getElementById("playground-props");
if (root && props?.textContent) {
  hydrate(<Playground {...(JSON.parse(props.textContent) as PlaygroundProps)} />, root);
}
