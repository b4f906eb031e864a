// The filegate API v1 as this page uses it: JSON over fetch, with the bearer token.

/** A failed request: `code` is the problem's stable code, or NETWORK / HTTP_<status>. */
export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `The server answered ${status}.`);
    this.name = "ApiError";
    this.status = status;
    this.code = problem.code || (status === 0 ? "NETWORK" : `HTTP_${status}`);
    this.problem = problem;
  }
}

/** Refusals that trying again cannot change (the file itself is the problem). */
const PERMANENT = new Set([
  "UNSUPPORTED_MEDIA_TYPE",
  "FILE_TOO_LARGE",
  "EMPTY_FILE",
  "VALIDATION_ERROR",
  "FORBIDDEN",
  "UNAUTHENTICATED",
  "UNREADABLE",
]);

/** Whether another try may succeed where `error` failed. */
export function isRetryable(error) {
  return !PERMANENT.has(error?.code);
}

/** Whether `error` is the one a cancelled request throws (not worth reporting). */
export function isAbort(error) {
  return error?.name === "AbortError";
}

async function problemOf(response) {
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("json")) return {};
  try {
    return await response.json();
  } catch {
    return {};
  }
}

/** Calls the API as one principal (the token's owner); `onUnauthenticated` hears 401s. */
export class Api {
  constructor(token, onUnauthenticated = () => {}) {
    this.token = token;
    this.onUnauthenticated = onUnauthenticated;
  }

  /** Open a guest session (no token needed): `{session: {id, expires_at}, token}`. */
  static async openSession() {
    return new Api(null).json("POST", "/v1/sessions");
  }

  async fetch(method, path, { body, signal, headers: extra = {} } = {}) {
    const headers = { ...extra };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      response = await fetch(path, { method, headers, body: payload, signal, cache: "no-store" });
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new ApiError(0, { detail: "The connection failed." });
    }
    if (response.ok) return response;
    const error = new ApiError(response.status, await problemOf(response));
    if (response.status === 401) this.onUnauthenticated(error);
    throw error;
  }

  async json(method, path, options) {
    const response = await this.fetch(method, path, options);
    return response.status === 204 ? null : response.json();
  }

  /** Register up to 500 declarations: each answer is a File or `{error: Problem}`, in order. */
  async registerBatch(declarations) {
    return (await this.json("POST", "/v1/files/batch", { body: { files: declarations } })).files;
  }

  register(declaration) {
    return this.json("POST", "/v1/files", { body: declaration });
  }

  async freshUploadUrl(id, signal) {
    return (await this.json("POST", `/v1/files/${id}/upload-url`, { signal })).upload;
  }

  complete(id, signal) {
    return this.json("POST", `/v1/files/${id}/complete`, { signal });
  }

  getFile(id, { wait = 0, signal } = {}) {
    const query = wait > 0 ? `?wait=${wait}` : "";
    return this.json("GET", `/v1/files/${id}${query}`, { signal });
  }

  /** The open event stream (`GET /v1/events`), resuming after `lastEventId` when given;
   * the response's body is the stream itself. */
  events(lastEventId, signal) {
    const headers = lastEventId ? { "Last-Event-ID": lastEventId } : {};
    return this.fetch("GET", "/v1/events", { signal, headers });
  }

  listFiles(limit = 100) {
    return this.json("GET", `/v1/files?limit=${limit}`);
  }

  deleteFile(id) {
    return this.json("DELETE", `/v1/files/${id}`);
  }

  /** The bytes of a READY file (the API answers 307 to a signed URL; fetch follows it). */
  async content(id) {
    return (await this.fetch("GET", `/v1/files/${id}/content`)).blob();
  }

  /** The bytes of a READY file's rendition, `size` "thumb" or "preview" (307 to a signed
   * URL, as for the content; the original is never sent). */
  async rendition(id, size) {
    return (await this.fetch("GET", `/v1/files/${id}/preview?size=${size}`)).blob();
  }

  async uploadedParts(id, signal) {
    return (await this.json("GET", `/v1/files/${id}/parts`, { signal })).parts;
  }

  async partUrls(id, numbers, signal) {
    const body = { part_numbers: numbers };
    return (await this.json("POST", `/v1/files/${id}/parts`, { body, signal })).parts;
  }

  completeParts(id, parts, signal) {
    return this.json("POST", `/v1/files/${id}/parts/complete`, { body: { parts }, signal });
  }

  /** A new upload grant: `{grant, token, url, qr: {png, svg}}`. */
  createGrant() {
    return this.json("POST", "/v1/upload-grants", { body: {} });
  }

  async grant(id) {
    return (await this.json("GET", `/v1/upload-grants/${id}`)).grant;
  }

  /** The QR code image at `path` (it needs the token, so it cannot be a plain <img src>). */
  async image(path) {
    return (await this.fetch("GET", path)).blob();
  }
}
