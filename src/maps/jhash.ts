/**
 * Bob Jenkins' lookup3 hash as the kernel implements it (include/linux/jhash.h):
 * jhash() over bytes and jhash2() over 32-bit words, which htab_map_hash() and the
 * bloom filter pick by key length. Reproducing it exactly means a hash map created
 * with BPF_F_ZERO_SEED iterates (get_next_key, dumps) in the kernel's order, and a
 * bloom filter sets the kernel's bits.
 *
 * Words are read little-endian (the kernel reads them in host order; tsbpf models
 * a little-endian host, as the address space is). All arithmetic is 32-bit: `| 0`
 * and `>>> 0` keep V8 on small integers, so hashing allocates nothing.
 */

const JHASH_INITVAL = 0xdeadbeef | 0;

const rol = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

const rd32 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);

/** jhash2(): `words` 32-bit words at b[off..]. */
export function jhash2(b: Uint8Array, off: number, words: number, seed: number): number {
  let a = (JHASH_INITVAL + (words << 2) + seed) | 0;
  let bb = a;
  let c = a;
  let o = off;
  let n = words;
  while (n > 3) {
    a = (a + rd32(b, o)) | 0;
    bb = (bb + rd32(b, o + 4)) | 0;
    c = (c + rd32(b, o + 8)) | 0;
    // __jhash_mix
    a = (a - c) | 0; a ^= rol(c, 4); c = (c + bb) | 0;
    bb = (bb - a) | 0; bb ^= rol(a, 6); a = (a + c) | 0;
    c = (c - bb) | 0; c ^= rol(bb, 8); bb = (bb + a) | 0;
    a = (a - c) | 0; a ^= rol(c, 16); c = (c + bb) | 0;
    bb = (bb - a) | 0; bb ^= rol(a, 19); a = (a + c) | 0;
    c = (c - bb) | 0; c ^= rol(bb, 4); bb = (bb + a) | 0;
    n -= 3;
    o += 12;
  }
  if (n === 0) return c >>> 0;
  if (n === 3) c = (c + rd32(b, o + 8)) | 0;
  if (n >= 2) bb = (bb + rd32(b, o + 4)) | 0;
  a = (a + rd32(b, o)) | 0;
  return final(a, bb, c);
}

/** jhash(): `length` bytes at b[off..]. */
export function jhash(b: Uint8Array, off: number, length: number, seed: number): number {
  let a = (JHASH_INITVAL + length + seed) | 0;
  let bb = a;
  let c = a;
  let o = off;
  let n = length;
  while (n > 12) {
    a = (a + rd32(b, o)) | 0;
    bb = (bb + rd32(b, o + 4)) | 0;
    c = (c + rd32(b, o + 8)) | 0;
    a = (a - c) | 0; a ^= rol(c, 4); c = (c + bb) | 0;
    bb = (bb - a) | 0; bb ^= rol(a, 6); a = (a + c) | 0;
    c = (c - bb) | 0; c ^= rol(bb, 8); bb = (bb + a) | 0;
    a = (a - c) | 0; a ^= rol(c, 16); c = (c + bb) | 0;
    bb = (bb - a) | 0; bb ^= rol(a, 19); a = (a + c) | 0;
    c = (c - bb) | 0; c ^= rol(bb, 4); bb = (bb + a) | 0;
    n -= 12;
    o += 12;
  }
  if (n === 0) return c >>> 0;
  // The tail: byte k of the last block goes to a, b or c at bit 8 * (k % 4).
  for (let k = n - 1; k >= 0; k--) {
    const v = b[o + k]! << (8 * (k & 3));
    if (k >= 8) c = (c + v) | 0;
    else if (k >= 4) bb = (bb + v) | 0;
    else a = (a + v) | 0;
  }
  return final(a, bb, c);
}

function final(a: number, b: number, c: number): number {
  c ^= b; c = (c - rol(b, 14)) | 0;
  a ^= c; a = (a - rol(c, 11)) | 0;
  b ^= a; b = (b - rol(a, 25)) | 0;
  c ^= b; c = (c - rol(b, 16)) | 0;
  a ^= c; a = (a - rol(c, 4)) | 0;
  b ^= a; b = (b - rol(a, 14)) | 0;
  c ^= b; c = (c - rol(b, 24)) | 0;
  return c >>> 0;
}

/** htab_map_hash(): jhash2 when the key is a whole number of words, jhash otherwise. */
export const htabHash = (b: Uint8Array, off: number, keySize: number, seed: number): number =>
  (keySize & 3) === 0 ? jhash2(b, off, keySize >>> 2, seed) : jhash(b, off, keySize, seed);

/** jhash2() over `words` words of an Int32Array view starting at word index i (aligned keys in the address space). */
export function jhash2w(w: Int32Array, i: number, words: number, seed: number): number {
  let a = (JHASH_INITVAL + (words << 2) + seed) | 0;
  let bb = a;
  let c = a;
  let n = words;
  while (n > 3) {
    a = (a + w[i]!) | 0;
    bb = (bb + w[i + 1]!) | 0;
    c = (c + w[i + 2]!) | 0;
    a = (a - c) | 0; a ^= rol(c, 4); c = (c + bb) | 0;
    bb = (bb - a) | 0; bb ^= rol(a, 6); a = (a + c) | 0;
    c = (c - bb) | 0; c ^= rol(bb, 8); bb = (bb + a) | 0;
    a = (a - c) | 0; a ^= rol(c, 16); c = (c + bb) | 0;
    bb = (bb - a) | 0; bb ^= rol(a, 19); a = (a + c) | 0;
    c = (c - bb) | 0; c ^= rol(bb, 4); bb = (bb + a) | 0;
    n -= 3;
    i += 3;
  }
  if (n === 0) return c | 0;
  if (n === 3) c = (c + w[i + 2]!) | 0;
  if (n >= 2) bb = (bb + w[i + 1]!) | 0;
  a = (a + w[i]!) | 0;
  return final(a, bb, c) | 0;
}

/**
 * Copies n bytes from src[so..] to dst[d..] without allocating (no subarray views on
 * the hot paths): copyWithin inside one buffer, a loop for short copies.
 */
export function copyBytes(src: Uint8Array, so: number, dst: Uint8Array, d: number, n: number): void {
  if (src === dst) dst.copyWithin(d, so, so + n);
  else if (n <= 64) for (let i = 0; i < n; i++) dst[d + i] = src[so + i]!;
  else dst.set(src.subarray(so, so + n), d);
}
