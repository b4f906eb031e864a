// Plain words for what the API says in codes.

const REJECTIONS = {
  EMPTY_FILE: "This file is empty.",
  SIZE_MISMATCH: "The file that arrived is not the size that was announced.",
  CHECKSUM_MISMATCH: "The file that arrived is not the one that was picked.",
  NOT_AN_IMAGE: "This is not an image.",
  UNSUPPORTED_FORMAT: "This kind of image is not accepted.",
  TYPE_MISMATCH: "This image is not of the type its name says.",
  CORRUPT_IMAGE: "This file is damaged or incomplete.",
  IMAGE_TOO_LARGE: "This image has too many pixels.",
  TOO_MANY_FRAMES: "This animation has too many frames.",
  DECODE_TIMEOUT: "This image took too long to open.",
  DECODE_MEMORY_EXCEEDED: "This image needs too much memory to open.",
  DECODER_CRASH: "This image could not be opened: it made the image reader fail.",
  UPLOAD_EXPIRED: "The upload window closed before the file arrived.",
};

const PROBLEMS = {
  NETWORK: "The connection failed. Check your network and retry.",
  UNAUTHENTICATED: "Your session has ended. Reload the page to start a new one.",
  FORBIDDEN: "This link may not do that.",
  UNSUPPORTED_MEDIA_TYPE: "This type of file is not accepted.",
  FILE_TOO_LARGE: "This file is too large.",
  EMPTY_FILE: "This file is empty.",
  QUOTA_EXCEEDED: "Your storage is full. Delete some files first.",
  TOO_MANY_PENDING: "Too many files are waiting to be checked. Retry in a moment.",
  RATE_LIMITED: "Too many requests. Retry in a moment.",
  UNAVAILABLE: "The service is unavailable right now. Retry in a moment.",
  URL_EXPIRED: "The upload link expired. Retry to get a new one.",
  SIGNATURE_MISMATCH: "The store refused the upload.",
  CHECKSUM_MISMATCH: "The file changed while it was being uploaded.",
  LENGTH_MISMATCH: "The upload was cut short.",
  VALIDATION_ERROR: "The file's details were refused.",
  NOT_READY: "This file is not ready yet.",
  UNREADABLE: "The file could not be read.",
  NO_ETAG: "The store does not let this page finish large uploads (ETag not exposed).",
};

/** A sentence for a rejected (or expired) file's `reason` code. */
export function rejection(reason) {
  return REJECTIONS[reason] || `This file was not accepted (${reason || "no reason given"}).`;
}

/** A sentence for a failed request (an ApiError or any Error). */
export function problem(error) {
  if (error?.code === "FORBIDDEN" && error.problem?.uses_left === 0) {
    return "This phone link has been used up. Ask for a new one.";
  }
  return PROBLEMS[error?.code] || error?.message || "Something went wrong.";
}

/** `bytes` for people: "812 B", "1.4 MB". */
export function size(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit += 1;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "50%" of a fraction in [0, 1]. */
export function percent(fraction) {
  return `${Math.floor(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

/** A moment for people with its date and time zone, in the browser's locale and zone,
 * e.g. "Wed, 2 Dec 2026, 14:05 CET" or "Wed, Dec 2, 2026, 02:05 PM EST". */
export function moment(iso) {
  return new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  }).format(new Date(iso));
}
