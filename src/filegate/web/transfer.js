// Sending bytes straight to the store: one signed PUT, or a multipart upload in parts.

import { ApiError } from "./api.js";

/** Headers a page may not set: the browser sets them itself (and logs an error if asked). */
const BROWSER_HEADERS = new Set(["content-length", "host", "connection", "expect", "keep-alive"]);
const PARTS_PER_REQUEST = 50;

/**
 * Perform the signed request `instructions` ({method, url, headers}) with `body`, through
 * XMLHttpRequest for its upload progress events. `onProgress(bytesSent)`; resolves with the
 * response's ETag (null when the store does not expose it).
 */
export function send(instructions, body, onProgress = () => {}, signal = undefined) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(instructions.method, instructions.url);
    for (const [name, value] of Object.entries(instructions.headers || {})) {
      if (!BROWSER_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader("ETag"));
      else reject(new ApiError(xhr.status, storeProblem(xhr)));
    };
    xhr.onerror = () => reject(new ApiError(0, { detail: "The connection to the store failed." }));
    xhr.onabort = () => reject(new DOMException("The upload was cancelled.", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

/** The local store answers problem+json; S3 answers XML with a <Code>. */
function storeProblem(xhr) {
  const text = xhr.responseText || "";
  try {
    return JSON.parse(text);
  } catch {
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
    if (xhr.status === 403 && /expired/i.test(text)) return { code: "URL_EXPIRED" };
    return code ? { code: `STORE_${code}`, detail: `The store answered ${code}.` } : {};
  }
}

/**
 * Upload `file` in parts as `upload` ({part_size, part_count}) says, skipping the parts the
 * store already holds (a retry or a resume goes on from there). Resolves with the File the
 * API answers; `signal` aborts it (pause, cancel).
 */
export async function sendInParts(api, id, file, upload, onProgress = () => {}, signal) {
  const stored = new Map((await api.uploadedParts(id, signal)).map((part) => [part.number, part]));
  let sent = [...stored.values()].reduce((sum, part) => sum + part.size, 0);
  const missing = [];
  for (let number = 1; number <= upload.part_count; number += 1) {
    if (!stored.has(number)) missing.push(number);
  }
  for (let start = 0; start < missing.length; start += PARTS_PER_REQUEST) {
    const numbers = missing.slice(start, start + PARTS_PER_REQUEST);
    const signed = await api.partUrls(id, numbers, signal);
    for (const part of signed) {
      const first = (part.number - 1) * upload.part_size;
      const slice = file.slice(first, Math.min(first + upload.part_size, file.size));
      const etag = await send(part, slice, (loaded) => onProgress(sent + loaded), signal);
      if (!etag) throw new ApiError(0, { code: "NO_ETAG", detail: "The ETag header is hidden." });
      stored.set(part.number, { number: part.number, etag, size: slice.size });
      sent += slice.size;
    }
  }
  const parts = [...stored.values()]
    .sort((a, b) => a.number - b.number)
    .map(({ number, etag }) => ({ number, etag }));
  return api.completeParts(id, parts, signal);
}
