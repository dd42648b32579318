// Hand-built pcapng blocks (little-endian) for reader tests.
export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** A raw pcapng block (little-endian), body padded to 4 bytes. */
export function block(type: number, body: Uint8Array, lenOverride?: { head?: number; tail?: number }): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const len = 12 + padded;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, lenOverride?.head ?? len, true);
  b.set(body, 8);
  v.setUint32(len - 4, lenOverride?.tail ?? len, true);
  return b;
}
export const le32 = (...xs: number[]): Uint8Array => {
  const b = new Uint8Array(xs.length * 4);
  xs.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x >>> 0, true));
  return b;
};
export const shb = (): Uint8Array => block(0x0a0d0d0a, concat(le32(0x1a2b3c4d), new Uint8Array([1, 0, 0, 0]), le32(0xffffffff, 0xffffffff)));
export const idb = (linktype: number, snaplen: number, opts: Uint8Array = new Uint8Array(0)): Uint8Array =>
  block(1, concat(new Uint8Array([linktype & 0xff, linktype >> 8, 0, 0]), le32(snaplen), opts));
export const opt = (code: number, value: Uint8Array): Uint8Array => {
  const b = new Uint8Array(4 + ((value.length + 3) & ~3));
  new DataView(b.buffer).setUint16(0, code, true);
  new DataView(b.buffer).setUint16(2, value.length, true);
  b.set(value, 4);
  return b;
};
