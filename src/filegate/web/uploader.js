// From picked files to bytes in the store: hash, register in batches, upload, complete.

import { ApiError, isAbort } from "./api.js";
import { sha256Hex } from "./hashing.js";
import { FINAL } from "./model.js";
import { Pool } from "./pool.js";
import { send, sendInParts } from "./transfer.js";

const MAX_BATCH = 500;
/** States in which this page has nothing more to send for a file. */
const SETTLED = new Set([...FINAL, "uploaded", "failed", "paused"]);
/** States a file may be cancelled in (the page is still working on it). */
export const CANCELLABLE = new Set(["hashing", "registering", "registered", "uploading", "paused"]);
/** States in which a queued transfer does not start. */
const HELD = new Set(["paused", "cancelling"]);
const PARALLEL_UPLOADS = 3;
const EXPIRY_MARGIN_MS = 15_000;

const TYPES_BY_EXTENSION = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  jpe: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  gif: "image/gif",
  tif: "image/tiff",
  tiff: "image/tiff",
  heic: "image/heic",
  heif: "image/heif",
};

/** The type to declare: the browser's guess, else one from the name's extension. */
export function contentTypeOf(file) {
  const extension = file.name.includes(".") ? file.name.split(".").pop().toLowerCase() : "";
  return file.type || TYPES_BY_EXTENSION[extension] || "application/octet-stream";
}

function declarationOf(item) {
  const declaration = { filename: item.name, content_type: item.type, size: item.size };
  if (item.sha256) declaration.sha256 = item.sha256;
  return declaration;
}

function expiresSoon(upload) {
  return !upload || Date.parse(upload.expires_at) - Date.now() < EXPIRY_MARGIN_MS;
}

/**
 * Sends picked files. `canRenew` says whether this principal may ask for fresh upload URLs
 * (an upload grant may not: it registers the file again instead).
 */
export class Uploader {
  constructor(api, model, { canRenew }) {
    this.api = api;
    this.model = model;
    this.canRenew = canRenew;
    this.uploads = new Pool(PARALLEL_UPLOADS);
    this.batchSize = MAX_BATCH;
    this.batches = 0;
    this.transfers = new Map(); // item key → AbortController of its transfer in flight
  }

  /** Hash every file, register them (one call per batch), then upload each. */
  async add(files) {
    if (!this.busy()) this.model.round += 1;
    this.batches += 1;
    const items = files.map((file) =>
      this.model.add({
        name: file.name,
        size: file.size,
        type: contentTypeOf(file),
        file,
        state: "hashing",
        batch: this.batches,
      }),
    );
    for (const item of items) await this.hash(item);
    const ready = items.filter((item) => item.state === "registering");
    for (let start = 0; start < ready.length; start += this.batchSize) {
      await this.registerAll(ready.slice(start, start + this.batchSize));
    }
  }

  /** Whether files of the current round are still on their way. */
  busy() {
    return this.model.current().some((item) => !SETTLED.has(item.state));
  }

  async hash(item) {
    if (!this.model.items.has(item.key)) return; // cancelled while it waited
    try {
      const onProgress = (progress) => this.model.change(item, { progress });
      const sha256 = await sha256Hex(item.file, onProgress);
      this.model.change(item, { sha256, state: "registering", progress: 0 });
    } catch {
      this.fail(item, new ApiError(0, { code: "UNREADABLE" }));
    }
  }

  async registerAll(items) {
    let answers;
    try {
      answers = await this.api.registerBatch(items.map(declarationOf));
    } catch (error) {
      const limit = error.problem?.limit;
      if (error.code === "VALIDATION_ERROR" && limit > 0 && limit < items.length) {
        this.batchSize = limit; // a server configured for smaller batches
        for (let start = 0; start < items.length; start += limit) {
          await this.registerAll(items.slice(start, start + limit));
        }
        return;
      }
      for (const item of items) this.fail(item, error);
      return;
    }
    answers.forEach((answer, index) => this.registered(items[index], answer));
  }

  registered(item, answer) {
    if (answer.error) {
      this.fail(item, new ApiError(answer.error.status, answer.error));
      return;
    }
    const known = this.model.byServerId.get(answer.id);
    if (known && known !== item) {
      this.model.remove(item); // the owner has this very file already (deduplicated)
      this.model.apply(answer);
      return;
    }
    if (item.state === "cancelling") {
      this.model.change(item, { id: answer.id });
      this.discard(item); // cancelled while it was being registered
      return;
    }
    this.model.change(item, { id: answer.id, upload: answer.upload, error: null });
    this.model.apply(answer);
    if (answer.state === "registered") this.queue(item);
  }

  queue(item) {
    this.uploads.run(() => this.transfer(item));
  }

  async transfer(item) {
    // Deleted, cancelled or paused while it waited for its turn.
    if (!this.model.items.has(item.key) || HELD.has(item.state)) return;
    const controller = new AbortController();
    this.transfers.set(item.key, controller);
    this.model.change(item, { state: "uploading", sent: 0, progress: 0, error: null });
    try {
      let upload = item.upload;
      if (expiresSoon(upload) && this.canRenew) {
        upload = await this.api.freshUploadUrl(item.id, controller.signal);
        this.model.change(item, { upload });
      }
      const record = await this.sendBytes(item, upload, controller.signal);
      this.model.change(item, { sent: item.size, progress: 1 });
      this.model.apply(record);
    } catch (error) {
      if (!isAbort(error)) this.fail(item, error);
    } finally {
      if (this.transfers.get(item.key) === controller) this.transfers.delete(item.key);
    }
  }

  async sendBytes(item, upload, signal) {
    const onProgress = (sent) =>
      this.model.change(item, { sent, progress: item.size ? sent / item.size : 1 });
    if (upload.method === "MULTIPART") {
      return sendInParts(this.api, item.id, item.file, upload, onProgress, signal);
    }
    try {
      await send(upload, item.file, onProgress, signal);
    } catch (error) {
      if (error.code !== "ALREADY_UPLOADED") throw error; // else: an earlier try got through
    }
    return this.api.complete(item.id, signal);
  }

  /** Stop sending a file for now: its transfer is aborted and nothing is lost but bytes. */
  pause(item) {
    if (item.state !== "uploading" && item.state !== "registered") return;
    this.model.change(item, { state: "paused", sent: 0, progress: 0 });
    this.transfers.get(item.key)?.abort();
  }

  /** Send a paused file again: with a fresh upload URL (multipart keeps its stored parts). */
  async resume(item) {
    if (item.state === "paused") await this.retry(item);
  }

  /**
   * Stop working on a file and take it off the page. A file the server has registered is
   * deleted there too (a grant may delete what it has not sent), so nothing unsent is left.
   */
  async cancel(item) {
    if (!CANCELLABLE.has(item.state)) return;
    const registering = item.state === "registering" && !item.id;
    this.model.change(item, { state: "cancelling" });
    this.transfers.get(item.key)?.abort();
    if (item.id) await this.discard(item);
    else if (!registering) this.model.remove(item); // registered() finishes the others
  }

  /** Cancel every file the page is still working on. */
  async cancelAll() {
    const working = [...this.model.items.values()].filter((item) => CANCELLABLE.has(item.state));
    await Promise.all(working.map((item) => this.cancel(item)));
  }

  async discard(item) {
    try {
      await this.api.deleteFile(item.id);
    } catch (error) {
      // FORBIDDEN: a grant's bytes got through just before the cancel; the owner has them.
      if (!["FILE_NOT_FOUND", "FORBIDDEN"].includes(error.code)) return this.fail(item, error);
    }
    this.model.remove(item);
  }

  /** Try a failed file again, from where it failed. */
  async retry(item) {
    if (item.state === "cancelling") return;
    if (!item.id) {
      await this.registerOne(item);
    } else if (this.canRenew) {
      await this.renew(item);
    } else if (expiresSoon(item.upload)) {
      this.model.byServerId.delete(item.id); // a grant cannot renew the URL: register anew
      this.model.change(item, { id: null });
      await this.registerOne(item);
    } else {
      this.model.change(item, { state: "registered", error: null });
      this.queue(item);
    }
  }

  async registerOne(item) {
    this.model.change(item, { state: "registering", error: null });
    try {
      this.registered(item, await this.api.register(declarationOf(item)));
    } catch (error) {
      this.fail(item, error);
    }
  }

  async renew(item) {
    this.model.change(item, { state: "registered", error: null });
    let upload;
    try {
      upload = await this.api.freshUploadUrl(item.id);
    } catch (error) {
      // INVALID_STATE: the file no longer waits for bytes (an earlier try got through).
      if (error.code === "INVALID_STATE") return this.refresh(item);
      return this.fail(item, error);
    }
    this.model.change(item, { upload });
    this.queue(item);
  }

  async refresh(item) {
    try {
      this.model.apply(await this.api.getFile(item.id));
    } catch (error) {
      this.fail(item, error);
    }
  }

  fail(item, error) {
    if (item.state === "cancelling" && !item.id) return this.model.remove(item);
    this.model.change(item, { state: "failed", error, progress: 0 });
  }
}
