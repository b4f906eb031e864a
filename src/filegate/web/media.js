// Pictures of READY files: the small thumbnail on each card, the larger preview on demand,
// and downloads. The API needs the bearer token, so a rendition is fetched (the preview
// route answers 307 to a signed URL, which fetch follows) and shown from an object URL.
// The page never fetches an original to show it: only "Download" asks for the original.

import { Pool } from "./pool.js";

/** Loads the thumbnail of every READY file of `model` that has one. */
export class Media {
  constructor(api, model) {
    this.api = api;
    this.model = model;
    this.fetches = new Pool(2);
    model.listen((kind, item) => {
      if (kind === "removed") this.forget(item);
      else if (item.state === "ready") this.thumbnail(item);
    });
  }

  async thumbnail(item) {
    if (item.thumb || item.fetchingThumb || !item.renditions?.thumb) return;
    item.fetchingThumb = true;
    try {
      const blob = await this.fetches.run(() => this.api.rendition(item.id, "thumb"));
      this.model.change(item, { thumb: URL.createObjectURL(blob) });
    } catch {
      // No thumbnail: the placeholder stays; the file itself is fine.
    } finally {
      item.fetchingThumb = false;
    }
  }

  /** Whether `item` has a larger preview to show. */
  hasPreview(item) {
    return item.state === "ready" && Boolean(item.renditions?.preview);
  }

  /** An object URL of `item`'s preview rendition (fetched once, kept with the item). */
  async preview(item) {
    if (!item.large) {
      item.large = URL.createObjectURL(await this.api.rendition(item.id, "preview"));
    }
    return item.large;
  }

  /** Save the file as the server holds it, under its own name. */
  async download(item) {
    const blob = await this.api.content(item.id);
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
    if (item.large) URL.revokeObjectURL(item.large);
  }
}
