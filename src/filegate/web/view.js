// The list of files and the overall progress, kept in step with the model. Rows are built
// once and updated in place, so keyboard focus never jumps while states change.

import { isRetryable } from "./api.js";
import { placeholderCanvas } from "./blurhash.js";
import { percent, problem, rejection, size } from "./words.js";

const byId = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const LABELS = {
  retry: "Retry",
  download: "Download",
  remove: "Delete",
  pause: "Pause",
  resume: "Resume",
  cancel: "Cancel",
};

function button(label, className) {
  const node = element("button", `button small ${className}`, label);
  node.type = "button";
  return node;
}

/** States with a "Cancel" button (the page is still working on the file). */
const CANCELLABLE = new Set(["hashing", "registering", "registered", "uploading", "paused"]);

/** The width of a decoded placeholder in pixels (CSS stretches it over the card). */
const PLACEHOLDER_WIDTH = 32;

/**
 * Renders `model`; `actions` has download, remove, retry, pause, resume and cancel (each
 * taking an item), cancelAll(), clearRejected() and, with `canPreview(item)` true,
 * show(item, opener) for the larger view. Cards are listed newest pick first,
 * the files of one pick in the order they were picked.
 */
export class View {
  constructor(model, actions, { canRead, grant, canPreview = () => false }) {
    this.model = model;
    this.actions = actions;
    this.canRead = canRead;
    this.canPreview = canPreview;
    this.grant = grant;
    this.rows = new Map();
    this.list = byId("file-list");
    this.wireToolbar();
    model.listen((kind, item) => {
      if (kind === "added") this.insert(item);
      else if (kind === "removed") this.drop(item);
      else this.update(item);
      this.overall();
      this.toolbar();
    });
  }

  insert(item) {
    const row = this.build(item);
    this.rows.set(item.key, row);
    const last = this.lastOfBatch(item.batch);
    if (last) last.after(row.li);
    else this.list.prepend(row.li);
    this.update(item);
    byId("empty").hidden = true;
  }

  /** The card listed last of pick `batch` (null: none, or a file the server listed). */
  lastOfBatch(batch) {
    if (batch === null) return null;
    const cards = this.list.querySelectorAll(`li[data-batch="${batch}"]`);
    return cards.length ? cards[cards.length - 1] : null;
  }

  build(item) {
    const li = element("li", "file");
    if (item.batch !== null) li.dataset.batch = String(item.batch);
    const thumb = element("div", "thumb");
    const label = element("span", "thumb-label");
    const open = element("button", "thumb-open");
    open.type = "button";
    open.hidden = true;
    open.addEventListener("click", () => this.actions.show(item, open));
    thumb.append(label, open);
    const body = element("div", "file-body");
    const name = element("p", "file-name");
    const state = element("p", "file-state");
    const details = element("p", "file-details");
    const reason = element("p", "file-reason");
    const bar = element("progress");
    bar.max = 1;
    const buttons = element("div", "file-actions");
    const retry = button("Retry", "primary");
    const download = button("Download", "");
    const remove = button("Delete", "danger");
    const pause = button("Pause", "");
    const resume = button("Resume", "primary");
    const cancel = button("Cancel", "danger");
    const controls = { retry, download, remove, pause, resume, cancel };
    for (const [action, node] of Object.entries(controls)) {
      node.addEventListener("click", () => this.act(node, () => this.actions[action](item)));
    }
    buttons.append(resume, pause, retry, download, cancel, remove);
    body.append(name, state, details, reason, bar, buttons);
    li.append(thumb, body);
    const pictures = { label, open, image: null, canvas: null };
    return { li, thumb, name, state, details, reason, bar, ...controls, ...pictures };
  }

  /** Run a button's action once at a time. The button is marked busy, not disabled: a
   * disabled button would drop the keyboard focus. */
  async act(node, action) {
    if (node.getAttribute("aria-disabled") === "true") return;
    node.setAttribute("aria-disabled", "true");
    try {
      await action();
    } finally {
      node.removeAttribute("aria-disabled");
    }
  }

  update(item) {
    const row = this.rows.get(item.key);
    if (!row) return;
    row.li.dataset.state = item.state;
    row.li.dataset.name = item.name;
    row.name.textContent = item.name;
    row.state.textContent = this.stateText(item);
    row.reason.textContent = this.reasonText(item);
    row.reason.hidden = !row.reason.textContent;
    row.details.textContent = this.detailsText(item);
    row.details.hidden = !row.reason.hidden;
    const moving = item.state === "hashing" || item.state === "uploading";
    row.bar.hidden = !moving;
    row.bar.value = item.progress;
    const doing = item.state === "hashing" ? "Computing the checksum of" : "Uploading";
    row.bar.setAttribute("aria-label", `${doing} ${item.name}`);
    row.retry.hidden = !(item.state === "failed" && isRetryable(item.error));
    row.download.hidden = !(this.canRead && item.state === "ready");
    row.remove.hidden = !this.removable(item);
    row.pause.hidden = item.state !== "uploading" && item.state !== "registered";
    row.resume.hidden = item.state !== "paused";
    row.cancel.hidden = !CANCELLABLE.has(item.state);
    for (const [action, label] of Object.entries(LABELS)) {
      row[action].setAttribute("aria-label", `${label} ${item.name}`);
    }
    row.open.setAttribute("aria-label", `Show a larger preview of ${item.name}`);
    this.thumbnail(row, item);
  }

  removable(item) {
    if (!item.id) return item.state === "failed"; // never registered: only leaves the page
    return this.canRead && !CANCELLABLE.has(item.state) && item.state !== "cancelling";
  }

  stateText(item) {
    switch (item.state) {
      case "hashing":
        return `Computing checksum… ${percent(item.progress)}`;
      case "registering":
        return "Registering…";
      case "registered":
        return "Registered · waiting to upload";
      case "uploading":
        return `Uploading ${percent(item.progress)}`;
      case "paused":
        return "Paused";
      case "cancelling":
        return "Cancelling…";
      case "uploaded":
        if (this.grant) return "Sent · being checked…";
        return "Uploaded · verifying…";
      case "ready":
        return this.grant ? "Accepted · the other device has it" : "Ready";
      case "rejected":
        return this.grant ? "Not accepted" : "Rejected";
      case "expired":
        return "Expired";
      case "failed":
        return item.id ? "Upload failed" : "Not sent";
      default:
        return item.state;
    }
  }

  detailsText(item) {
    if (item.state === "uploading") return `${size(item.sent)} of ${size(item.size)}`;
    const image = item.state === "ready" ? item.image : null;
    const shape = image ? `${image.width} × ${image.height} ${image.format} · ` : "";
    return `${shape}${size(item.size)}`;
  }

  reasonText(item) {
    if (item.state === "rejected" || item.state === "expired") return rejection(item.reason);
    if (item.state === "failed") return problem(item.error);
    return "";
  }

  /** The card's picture: a label, then the decoded placeholder, then the thumbnail over it
   * (the placeholder canvas stays beneath). */
  thumbnail(row, item) {
    if (item.placeholder && !row.canvas) this.paint(row, item);
    if (item.thumb && row.image?.src !== item.thumb) {
      const img = element("img");
      img.alt = `Preview of ${item.name}`;
      img.src = item.thumb;
      row.image?.remove();
      row.open.before(img);
      row.image = img;
    }
    const pictured = Boolean(row.canvas || row.image);
    row.label.textContent = pictured ? "" : this.placeholder(item);
    row.label.hidden = pictured;
    row.open.hidden = !(item.thumb && this.canPreview(item));
  }

  /** Decode the file's BlurHash into a small canvas at the image's display proportions. */
  paint(row, item) {
    const image = item.image;
    const ratio = image ? image.display_height / image.display_width : 1;
    const height = Math.max(1, Math.min(128, Math.round(PLACEHOLDER_WIDTH * ratio)));
    try {
      row.canvas = placeholderCanvas(item.placeholder, PLACEHOLDER_WIDTH, height);
    } catch {
      return; // a malformed placeholder: the label stays
    }
    row.canvas.className = "placeholder";
    row.canvas.setAttribute("aria-hidden", "true");
    row.label.before(row.canvas);
  }

  placeholder(item) {
    const image = item.image ? `${item.image.format} image` : "Image";
    return {
      hashing: "Reading",
      registering: "Waiting",
      registered: "Waiting",
      uploading: "Uploading",
      paused: "Paused",
      cancelling: "Cancelling",
      uploaded: this.grant ? "Sent" : "Verifying",
      ready: image,
      rejected: "Not accepted",
      failed: "Not sent",
      expired: "Never arrived",
    }[item.state];
  }

  drop(item) {
    const row = this.rows.get(item.key);
    if (!row) return;
    const hadFocus = row.li.contains(document.activeElement);
    const next = row.li.nextElementSibling || row.li.previousElementSibling;
    row.li.remove();
    this.rows.delete(item.key);
    byId("empty").hidden = this.rows.size > 0;
    if (hadFocus) {
      const target = next?.querySelector("button:not([hidden])") || byId("files-heading");
      target.focus();
    }
  }

  /** The bar and sentence over the current round of picked files (bytes and files). */
  overall() {
    const items = this.model.current();
    byId("overall").hidden = items.length === 0;
    if (items.length === 0) return;
    const sentStates = new Set(["uploaded", "ready", "rejected", "expired"]);
    let total = 0;
    let sent = 0;
    const count = {};
    for (const item of items) {
      total += item.size;
      sent += sentStates.has(item.state) ? item.size : item.state === "uploading" ? item.sent : 0;
      count[item.state] = (count[item.state] || 0) + 1;
    }
    const done = items.filter((item) => sentStates.has(item.state)).length;
    const bar = byId("overall-bytes");
    bar.max = Math.max(total, 1);
    bar.value = sent;
    const parts = [`${done} of ${items.length} files sent · ${size(sent)} of ${size(total)}`];
    if (count.hashing) parts.push(`${count.hashing} computing checksums`);
    if (count.ready) parts.push(`${count.ready} ready`);
    if (count.rejected) parts.push(`${count.rejected} rejected`);
    if (count.failed) parts.push(`${count.failed} failed`);
    if (count.paused) parts.push(`${count.paused} paused`);
    byId("overall-text").textContent = parts.join(" · ");
  }

  /** "Cancel all" while the page works on files; "Clear rejected" while any is rejected. */
  toolbar() {
    const states = [...this.model.items.values()].map((item) => item.state);
    byId("cancel-all").hidden = !states.some((state) => CANCELLABLE.has(state));
    byId("clear-rejected").hidden = !states.includes("rejected");
  }

  wireToolbar() {
    const cancelAll = byId("cancel-all");
    const clear = byId("clear-rejected");
    cancelAll.addEventListener("click", () => this.act(cancelAll, () => this.actions.cancelAll()));
    clear.addEventListener("click", () => this.act(clear, () => this.actions.clearRejected()));
  }
}
