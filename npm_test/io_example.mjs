import { content, loadNetwork, style, stylize, tv } from "stylegram";
import { FileStore, readImage, writeImage } from "stylegram/io";

// Usage: node io_example.mjs PHOTO PAINTING OUT.png [SIZE]
const [photo, painting, out, size = "256"] = process.argv.slice(2);

const result = await stylize({
  // The offline InceptionV3; a FileStore caches VGG-19 if you ask for "vgg19".
  network: await loadNetwork("inception", { store: new FileStore() }),
  plugins: [content.use({ normalisation: "size" }, 1), style.use({}, 40), tv.use({}, 1)],
  content: await readImage(photo), // JPEG, PNG or WebP; EXIF orientation applied
  styles: [await readImage(painting)],
  settings: { size: Number(size), scales: 1, iterations: 5 },
});
await writeImage(result.image, out); // written atomically: complete or absent
console.log(`wrote ${out}: ${result.image.width}×${result.image.height}`);
