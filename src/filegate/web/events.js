// Following the live event stream (GET /v1/events): one fetch at a time, read as it comes,
// and after a drop (or the server's planned end of a stream) a new one that resumes with
// Last-Event-ID, so no event is missed and none comes twice.

import { isAbort } from "./api.js";
import { SseParser } from "./sse.js";

const RETRY_MS = 3000; // until the stream advises its own delay
const MAX_BACKOFF_MS = 30000;
const FAILURES_BEFORE_DOWN = 3;
const SHORTEST_PLANNED_MS = 1000; // a stream ended sooner than this is not a planned end

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Refusals no reconnection can change: this server has no stream, or not for this token. */
const FOR_GOOD = new Set(["NOT_FOUND", "UNAUTHENTICATED", "FORBIDDEN"]);

/**
 * Follows the stream until `stop()`. Listeners: `onFile(record)` for each event about a
 * file (its `data` is the file as the API returns it), `onOpen()` each time a stream is
 * open (also after a reconnection), `onDown(forGood)` when the stream is out of reach: for
 * good (404, 401, 403: it stops trying) or after a few failed tries in a row (it keeps
 * trying, more and more slowly, and calls `onOpen` again once it is back).
 */
export class EventFollower {
  constructor(api, { onFile, onOpen = () => {}, onDown = () => {} }) {
    this.api = api;
    this.listeners = { onFile, onOpen, onDown };
    this.parser = new SseParser((event) => this.dispatch(event));
    this.controller = null;
    this.stopped = false;
  }

  async start() {
    let failures = 0;
    while (!this.stopped) {
      const began = Date.now();
      try {
        await this.follow();
        // The server ends a stream after its maximum duration: resume at once (but not
        // over and over, should something end every stream as soon as it opens).
        failures = Date.now() - began < SHORTEST_PLANNED_MS ? failures + 1 : 0;
        if (failures > 0) await sleep(this.backoff(failures));
      } catch (error) {
        if (this.stopped || isAbort(error)) return;
        if (FOR_GOOD.has(error.code)) return this.listeners.onDown(true);
        if (error.code === "INVALID_CURSOR") this.parser.lastEventId = ""; // begin afresh
        failures += 1;
        if (failures === FAILURES_BEFORE_DOWN) this.listeners.onDown(false);
        await sleep(this.backoff(failures));
      }
    }
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
  }

  /** One stream, from its opening to its end (a drop throws). */
  async follow() {
    this.controller = new AbortController();
    const response = await this.api.events(this.parser.lastEventId, this.controller.signal);
    this.parser.reset();
    this.listeners.onOpen();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.parser.push(value);
    }
  }

  dispatch(event) {
    if (!event.type.startsWith("file.")) return;
    try {
      this.listeners.onFile(JSON.parse(event.data).data);
    } catch {
      // Not the body this page knows: the next listing brings the file anyway.
    }
  }

  /** Exponential with jitter, from the stream's advised delay up to a cap. */
  backoff(failures) {
    const base = this.parser.retry ?? RETRY_MS;
    const ceiling = Math.min(MAX_BACKOFF_MS, base * 2 ** (failures - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }
}
