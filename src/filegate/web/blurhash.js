// BlurHash decoding (the published algorithm): a file's `placeholder` string becomes a tiny
// picture painted while the thumbnail loads. Written here rather than imported: the page
// is plain ES modules without a build step or third-party hosts, and the decoder is small.

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

/** The base-83 number written by `text` (throws on a character outside the alphabet). */
function base83(text) {
  let value = 0;
  for (const character of text) {
    const digit = DIGITS.indexOf(character);
    if (digit < 0) throw new RangeError(`Not a BlurHash character: ${character}`);
    value = value * 83 + digit;
  }
  return value;
}

function toLinear(channel) {
  const unit = channel / 255;
  return unit <= 0.04045 ? unit / 12.92 : ((unit + 0.055) / 1.055) ** 2.4;
}

function toSrgb(linear) {
  const unit = Math.min(1, Math.max(0, linear));
  const encoded = unit <= 0.0031308 ? unit * 12.92 : 1.055 * unit ** (1 / 2.4) - 0.055;
  return Math.round(encoded * 255);
}

/** A signed AC digit (0…18) as a factor in [-1, 1], squared to keep its sign. */
function signedSquare(digit) {
  const unit = (digit - 9) / 9;
  return Math.sign(unit) * unit * unit;
}

/**
 * The colour factors of `hash`: `{columns, rows, factors}` where factors[i + j * columns]
 * is the linear [r, g, b] weight of cosine (i, j); factor 0 is the average colour.
 * Throws a RangeError for a string that is not a well-formed BlurHash.
 */
export function components(hash) {
  if (typeof hash !== "string" || hash.length < 6) throw new RangeError("BlurHash too short");
  const shape = base83(hash[0]);
  const columns = (shape % 9) + 1;
  const rows = Math.floor(shape / 9) + 1;
  if (hash.length !== 4 + 2 * columns * rows) throw new RangeError("BlurHash length is wrong");
  const largest = (base83(hash[1]) + 1) / 166;
  const average = base83(hash.slice(2, 6));
  const factors = [[average >> 16, (average >> 8) & 255, average & 255].map(toLinear)];
  for (let at = 6; at < hash.length; at += 2) {
    const value = base83(hash.slice(at, at + 2));
    const digits = [Math.floor(value / 361), Math.floor(value / 19) % 19, value % 19];
    factors.push(digits.map((digit) => signedSquare(digit) * largest));
  }
  return { columns, rows, factors };
}

/** The RGBA pixels (a Uint8ClampedArray, row by row) of `hash` drawn at width × height. */
export function decode(hash, width, height) {
  const { columns, rows, factors } = components(hash);
  const pixels = new Uint8ClampedArray(width * height * 4);
  const cosX = (i, x) => Math.cos((Math.PI * x * i) / width);
  const cosY = (j, y) => Math.cos((Math.PI * y * j) / height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const colour = [0, 0, 0];
      for (let j = 0; j < rows; j += 1) {
        for (let i = 0; i < columns; i += 1) {
          const weight = cosX(i, x) * cosY(j, y);
          const factor = factors[i + j * columns];
          for (let c = 0; c < 3; c += 1) colour[c] += factor[c] * weight;
        }
      }
      const at = (y * width + x) * 4;
      pixels.set([...colour.map(toSrgb), 255], at);
    }
  }
  return pixels;
}

/** A canvas showing `hash` at `width` × `height` pixels (stretched by CSS to the card). */
export function placeholderCanvas(hash, width = 32, height = 32) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.putImageData(new ImageData(decode(hash, width, height), width, height), 0, 0);
  return canvas;
}
