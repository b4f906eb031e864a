// SHA-256 of a picked file, declared at registration so the store can check the bytes.

/** Files above this are registered without a checksum rather than read whole into memory. */
const MAX_HASHED_BYTES = 512 * 1024 * 1024;

/** Whether this page can hash (Web Crypto exists only in secure contexts: https, localhost). */
export function canHash() {
  return Boolean(globalThis.crypto?.subtle);
}

/**
 * The hex SHA-256 of `file`, or null when it cannot be computed here (no Web Crypto, or
 * too big). `onProgress(fraction)` hears how much has been read.
 */
export async function sha256Hex(file, onProgress = () => {}) {
  if (!canHash() || file.size > MAX_HASHED_BYTES) return null;
  const bytes = new Uint8Array(file.size);
  const reader = file.stream().getReader();
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (offset + value.length > bytes.length) throw new Error("The file grew while it was read.");
    bytes.set(value, offset);
    offset += value.length;
    onProgress(file.size ? offset / file.size : 1);
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
