// What the page knows about each file, and who hears about changes.

/** How far along a state is: a server answer never moves a file backwards. */
const PROGRESS = {
  hashing: 0,
  registering: 0,
  failed: 0,
  registered: 1,
  uploading: 1,
  paused: 1,
  uploaded: 2,
  ready: 3,
  rejected: 3,
  expired: 3,
  deleted: 4,
  cancelling: 4,
};

/** States in which the server has decided: nothing more will happen to the file. */
export const FINAL = new Set(["ready", "rejected", "expired", "deleted"]);

/**
 * The files on the page, each an item `{key, id, name, size, state, reason, error, file,
 * progress, sent, upload, image, placeholder, renditions, round, batch, ...}`; `batch` numbers the picks of this page
 * (null for files the server listed). Listeners get `(kind, item, before)` where
 * kind is "added", "changed" or "removed" and `before` is the item's previous state.
 */
export class Model {
  constructor() {
    this.items = new Map();
    this.byServerId = new Map();
    this.listeners = [];
    this.round = 0;
    this.counter = 0;
  }

  listen(listener) {
    this.listeners.push(listener);
  }

  emit(kind, item, before) {
    for (const listener of this.listeners) listener(kind, item, before);
  }

  /** A new item (a picked file, or one the server listed); `fields` overrides defaults. */
  add(fields) {
    this.counter += 1;
    const item = {
      key: `f${this.counter}`,
      id: null,
      reason: null,
      error: null,
      file: null,
      progress: 0,
      sent: 0,
      upload: null,
      image: null,
      placeholder: null,
      renditions: {},
      batch: null,
      round: this.round,
      ...fields,
    };
    this.items.set(item.key, item);
    if (item.id) this.byServerId.set(item.id, item);
    this.emit("added", item, null);
    return item;
  }

  change(item, fields) {
    if (!this.items.has(item.key)) return;
    const before = item.state;
    Object.assign(item, fields);
    if (item.id) this.byServerId.set(item.id, item);
    this.emit("changed", item, before);
  }

  remove(item) {
    if (!this.items.delete(item.key)) return;
    if (item.id) this.byServerId.delete(item.id);
    this.emit("removed", item, item.state);
  }

  /** Merge what the server says about a file; adds files this page has not seen. */
  apply(record) {
    const item = this.byServerId.get(record.id);
    if (!item) {
      if (record.state !== "deleted") this.add({ ...fieldsOf(record), round: -1 });
      return;
    }
    if (record.state === "deleted") {
      this.remove(item);
    } else if (isNews(item.state, record.state) && !isSame(item, record)) {
      this.change(item, fieldsOf(record));
    }
  }

  /** Items of the current round of picked files (the overall progress counts those). */
  current() {
    return [...this.items.values()].filter((item) => item.round === this.round && item.file);
  }
}

function isNews(known, told) {
  if (PROGRESS[told] < PROGRESS[known]) return false;
  // While this page is sending the bytes (or holds them paused, or shows a failure to
  // retry), "registered" tells nothing new.
  return !(told === "registered" && ["uploading", "paused", "failed"].includes(known));
}

function isSame(item, record) {
  return (
    item.state === record.state &&
    item.reason === record.reason &&
    Boolean(item.image) === Boolean(record.image) &&
    Boolean(item.placeholder) === Boolean(record.placeholder)
  );
}

function fieldsOf(record) {
  return {
    id: record.id,
    state: record.state,
    reason: record.reason,
    name: record.filename,
    size: record.size,
    type: record.content_type,
    image: record.image,
    placeholder: record.placeholder ?? null,
    renditions: record.renditions ?? {},
    error: null,
  };
}
