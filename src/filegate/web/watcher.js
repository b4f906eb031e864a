// Keeping states live: a long poll per file that is being verified, and a periodic list
// (which also brings in files uploaded from another device, such as a phone).

import { Pool } from "./pool.js";

const LONG_POLL_SECONDS = 20;
const LONG_POLLS = 2; // with 3 uploads, leaves a connection free for everything else
const LIST_EVERY_MS = 4000;
const LIST_FAST_EVERY_MS = 2000;
const BACKOFF_MS = 3000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows the files of `model` on the server until `stop()`. With `lists: false` (an upload
 * grant, which may not list) it only long-polls the files this page sent.
 */
export class Watcher {
  constructor(api, model, { lists = true } = {}) {
    this.api = api;
    this.model = model;
    this.lists = lists;
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
    if (!this.lists) return;
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.listSoon(0);
    });
    await this.list();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** List more often (e.g. while the phone dialog is open), or at the usual pace. */
  hurry(on) {
    this.interval = on ? LIST_FAST_EVERY_MS : LIST_EVERY_MS;
    this.listSoon(on ? 0 : this.interval);
  }

  follow(item) {
    if (this.followed.has(item.key)) return;
    this.followed.add(item.key);
    this.polls.run(() => this.waitFor(item)).finally(() => this.followed.delete(item.key));
  }

  /** Long-poll the file until the server has decided (or the file left the page). */
  async waitFor(item) {
    while (!this.stopped && this.model.items.has(item.key) && item.state === "uploaded") {
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
    if (!this.stopped && this.lists) this.timer = setTimeout(() => this.list(), delay);
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
