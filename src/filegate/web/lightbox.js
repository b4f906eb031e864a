// The larger view of one READY file: its preview rendition in a modal dialog. The dialog
// closes with Esc (the browser's own) or its button, and gives the focus back to the card.

import { problem } from "./words.js";

const byId = (id) => document.getElementById(id);

/** Shows previews that `media` fetches, in the page's #preview-dialog. */
export class Lightbox {
  constructor(media) {
    this.media = media;
    this.dialog = byId("preview-dialog");
    this.image = byId("preview-image");
    this.note = byId("preview-note");
    this.opener = null;
    this.showing = null;
    byId("preview-close").addEventListener("click", () => this.dialog.close());
    // A click on the backdrop (outside the picture and the button) closes it too.
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
    this.dialog.addEventListener("close", () => {
      this.showing = null;
      this.image.removeAttribute("src");
      this.opener?.focus();
    });
  }

  /** Open the view of `item`; `opener` gets the focus back when it closes. */
  async show(item, opener) {
    this.opener = opener;
    this.showing = item;
    byId("preview-title").textContent = item.name;
    this.image.alt = item.name;
    this.image.hidden = true;
    this.note.hidden = false;
    this.note.textContent = "Loading the preview…";
    if (!this.dialog.open) this.dialog.showModal();
    try {
      const url = await this.media.preview(item);
      if (this.showing !== item) return; // closed, or another card opened meanwhile
      this.image.src = url;
      this.image.hidden = false;
      this.note.hidden = true;
    } catch (error) {
      if (this.showing === item) this.note.textContent = problem(error);
    }
  }
}
