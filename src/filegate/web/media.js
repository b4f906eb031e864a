// Thumbnails and downloads of READY files. Both need the bearer token, so the bytes are
// fetched (the API answers 307 to a signed URL, which fetch follows) and shown from an
// object URL; a file picked on this page is previewed from the picked copy instead.

import { Pool } from "./pool.js";

const PREVIEWABLE = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
const MAX_PREVIEW_BYTES = 30 * 1000 * 1000;

/** Loads a preview for every READY file of `model` the browser can show. */
export class Media {
  constructor(api, model) {
    this.api = api;
    this.model = model;
    this.fetches = new Pool(2);
    model.listen((kind, item) => {
      if (kind === "removed") this.forget(item);
      else if (item.state === "ready") this.preview(item);
    });
  }

  async preview(item) {
    if (item.thumb || item.previewing) return;
    if (!PREVIEWABLE.has(item.type) || item.size > MAX_PREVIEW_BYTES) return;
    item.previewing = true;
    try {
      const blob = item.file || (await this.fetches.run(() => this.api.content(item.id)));
      if (!item.file) item.blob = blob; // kept: the download button reuses it
      this.model.change(item, { thumb: URL.createObjectURL(blob) });
    } catch {
      // No preview; the file itself is fine.
    } finally {
      item.previewing = false;
    }
  }

  /** Save the file as the server holds it, under its own name. */
  async download(item) {
    const blob = item.blob || (await this.api.content(item.id));
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = item.name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  forget(item) {
    if (item.thumb) URL.revokeObjectURL(item.thumb);
    item.blob = null;
  }
}
