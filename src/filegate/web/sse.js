// A Server-Sent Events parser, fed the text of a stream in chunks as they arrive (the page
// reads the stream with fetch, since EventSource cannot send an Authorization header).

/**
 * Calls `onEvent({id, type, data})` for each event of the text given to `push`, as the
 * HTML standard's parser does: `data` lines joined with LF, `type` "message" when none is
 * named, comments ignored. `lastEventId` follows every `id` field, also one in a frame
 * without data (the stream's opening frame), and `retry` is the last delay advised (ms).
 */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.rest = "";
    this.data = [];
    this.type = "";
    this.idBuffer = "";
    this.lastEventId = "";
    this.retry = null;
  }

  /** Forget a frame cut off by a dropped connection (the next stream sends it whole). */
  reset() {
    this.rest = "";
    this.data = [];
    this.type = "";
    this.idBuffer = this.lastEventId;
  }

  push(chunk) {
    let text = this.rest + chunk;
    // A CR at the very end may be the first half of a CRLF still on its way.
    const heldCr = text.endsWith("\r");
    if (heldCr) text = text.slice(0, -1);
    const lines = text.split(/\r\n|\r|\n/);
    this.rest = lines.pop() + (heldCr ? "\r" : "");
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.type = value;
    else if (field === "id" && !value.includes("\0")) this.idBuffer = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
  }

  dispatch() {
    this.lastEventId = this.idBuffer;
    const [data, type] = [this.data, this.type || "message"];
    this.data = [];
    this.type = "";
    if (data.length > 0) this.onEvent({ id: this.lastEventId, type, data: data.join("\n") });
  }
}
