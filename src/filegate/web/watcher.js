// Keeping states live: the event stream brings each file's outcome as it is decided; a long
// poll per file being verified stands in while the stream is out of reach; a periodic list
// also brings in files uploaded from another device, such as a phone.

import { EventFollower } from "./events.js";
import { Pool } from "./pool.js";

const LONG_POLL_SECONDS = 20;
const LONG_POLLS = 2; // with 3 uploads, leaves a connection free for everything else
const LIST_EVERY_MS = 4000;
const LIST_FAST_EVERY_MS = 2000;
const BACKOFF_MS = 3000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows the files of `model` on the server until `stop()`. With `lists: false` (an upload
 * grant, which may not list) it only long-polls the files this page sent; with `stream:
 * false` it never opens the event stream (a grant may not follow it either). With `polling:
 * false` it neither long-polls nor lists after the first page: only the stream keeps
 * states live (the browser tests prove it that way).
 */
export class Watcher {
  constructor(api, model, { lists = true, stream = true, polling = true } = {}) {
    this.api = api;
    this.model = model;
    this.lists = lists;
    this.polling = polling;
    this.live = false; // the event stream is open: it brings every outcome
    this.events = stream
      ? new EventFollower(api, {
          onFile: (record) => this.model.apply(record),
          onOpen: () => this.streamOpened(),
          onDown: () => this.streamDown(),
        })
      : null;
    this.polls = new Pool(LONG_POLLS);
    this.followed = new Set();
    this.interval = LIST_EVERY_MS;
    this.timer = null;
    this.listing = false;
    this.stopped = false;
  }

  /** Load the first page of files now, then keep everything fresh. */
  async start() {
    this.model.listen((kind, item) => {
      if (kind !== "removed" && item.state === "uploaded") this.follow(item);
    });
    this.events?.start();
    if (!this.lists) return;
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.listSoon(0);
    });
    await this.list();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.events?.stop();
  }

  /** The stream is open: it brings what is decided from now on. What was decided before
   * it opened (a file verified while it was away) is read once. */
  streamOpened() {
    this.live = true;
    for (const item of this.verifying()) this.readOnce(item);
  }

  /** The stream is out of reach: long-poll the files being verified until it is back. */
  streamDown() {
    this.live = false;
    for (const item of this.verifying()) this.follow(item);
  }

  verifying() {
    return [...this.model.items.values()].filter((item) => item.id && item.state === "uploaded");
  }

  async readOnce(item) {
    try {
      this.model.apply(await this.api.getFile(item.id));
    } catch (error) {
      if (error.code === "FILE_NOT_FOUND") this.model.remove(item);
      // Otherwise the stream, or the next listing, brings the outcome.
    }
  }

  /** List more often (e.g. while the phone dialog is open), or at the usual pace. */
  hurry(on) {
    this.interval = on ? LIST_FAST_EVERY_MS : LIST_EVERY_MS;
    this.listSoon(on ? 0 : this.interval);
  }

  follow(item) {
    if (this.live || !this.polling || this.followed.has(item.key)) return;
    this.followed.add(item.key);
    this.polls.run(() => this.waitFor(item)).finally(() => this.followed.delete(item.key));
  }

  /** Long-poll the file until the server has decided (or the file left the page). */
  async waitFor(item) {
    const waiting = () => this.model.items.has(item.key) && item.state === "uploaded";
    while (!this.stopped && !this.live && waiting()) {
      try {
        this.model.apply(await this.api.getFile(item.id, { wait: LONG_POLL_SECONDS }));
      } catch (error) {
        if (error.code === "FILE_NOT_FOUND") this.model.remove(item);
        if (error.code === "FILE_NOT_FOUND" || error.code === "UNAUTHENTICATED") return;
        await sleep(BACKOFF_MS);
      }
    }
  }

  listSoon(delay) {
    clearTimeout(this.timer);
    if (!this.stopped && this.lists && this.polling) this.timer = setTimeout(() => this.list(), delay);
  }

  async list() {
    if (this.listing || this.stopped) return;
    this.listing = true;
    try {
      if (!document.hidden) {
        const page = await this.api.listFiles(100);
        for (const record of page.files.reverse()) this.model.apply(record); // oldest first
      }
    } catch {
      // A missed listing is made up by the next one.
    } finally {
      this.listing = false;
      this.listSoon(this.interval);
    }
  }
}
