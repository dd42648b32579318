/**
 * BPF_MAP_TYPE_LPM_TRIE, after kernel/bpf/lpm_trie.c (kernel >= 6.13 update rules).
 *
 * A key is struct bpf_lpm_trie_key_u8: a host-endian u32 prefixlen, then data_size
 * bytes compared most significant bit first (network order). The trie is the kernel's
 * path-compressed binary trie: each node holds a prefix; "intermediate" nodes, made when
 * two prefixes diverge, carry no value and always have two children. Lookup returns the
 * value of the longest stored prefix matching the key (from programs and from user
 * space alike); get_next_key walks in postorder, more specific prefixes first.
 *
 * Nodes are preallocated: at most max_entries real nodes plus fewer intermediate ones
 * (each has two children and leaves are real), plus the node an update builds before it
 * knows whether it replaces one, so 2 * max_entries + 1 slots. Values live in a region
 * programs get pointers into; the nodes themselves (children, prefix length, flags,
 * value address, prefix data) live in a second region whose accessible window is empty,
 * so no program can reach it, in the layout `lpmLayout` describes: the JIT walks the
 * trie there in WebAssembly, as the kernel's lookup runs as native code, instead of
 * calling out to JavaScript. The JavaScript side keeps the same links in typed arrays
 * and writes every change through to the node records.
 *
 * Errors: prefixlen > 8 * data_size gives -EINVAL (update, delete); a new prefix in a
 * full trie -ENOSPC (replacing an existing one is allowed); BPF_NOEXIST on an existing
 * prefix -EEXIST; BPF_EXIST on a missing one -ENOENT; delete of a missing prefix -ENOENT.
 */
import { BpfMap, type CreateMapOptions } from "./base.js";
import { BPF_EXIST, BPF_NOEXIST, EEXIST, EINVAL, ENOENT, ENOMEM, ENOSPC, roundUp8, type MapEnv, type MapSpec } from "./types.js";

const NONE = -1;

/** Node record fields (byte offsets); a record is LPM_NODE_DATA + roundUp8(data_size) bytes. */
export const LPM_NODE_CHILD0 = 0;
export const LPM_NODE_CHILD1 = 4;
export const LPM_NODE_PREFIXLEN = 8;
/** Bit 0: intermediate node (LPM_TREE_NODE_FLAG_IM), which has no value. */
export const LPM_NODE_FLAGS = 12;
export const LPM_NODE_VALUE = 16;
export const LPM_NODE_DATA = 24;

/**
 * Where a trie's nodes are, for engines that look up in it without calling the map: the
 * u32 at `rootAddr` is the address of the root's record (0: empty trie); a record holds
 * the children's record addresses (0: none), the prefix length, the flags, the address
 * of the node's value and the prefix data, at the LPM_NODE_* offsets.
 */
export interface LpmLayout {
  readonly rootAddr: number;
  readonly dataSize: number;
  readonly maxPrefixlen: number;
}

export class LpmTrieMap extends BpfMap {
  readonly dataSize: number;
  readonly maxPrefixlen: number;
  private readonly child0: Int32Array;
  private readonly child1: Int32Array;
  private readonly plen: Uint32Array;
  private readonly im: Uint8Array;
  /** Values: node n's at valueBase + n * valueStride. */
  private readonly valueBase: number;
  private readonly valueStride: number;
  /** Node records: node n's at nodeBase + n * nodeStride (the root word just before). */
  private readonly rootAddr: number;
  private readonly nodeBase: number;
  private readonly nodeStride: number;
  private readonly freeList: Int32Array;
  private freeTop = 0;
  private root = NONE;
  private nEntries = 0;
  private readonly stack: Int32Array;

  constructor(spec: MapSpec, env: MapEnv, opts: CreateMapOptions = {}) {
    super(spec, env, opts);
    this.dataSize = spec.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
    this.valueStride = roundUp8(spec.valueSize);
    this.nodeStride = LPM_NODE_DATA + roundUp8(this.dataSize);
    const n = 2 * spec.maxEntries + 1;
    this.child0 = new Int32Array(n).fill(NONE);
    this.child1 = new Int32Array(n).fill(NONE);
    this.plen = new Uint32Array(n);
    this.im = new Uint8Array(n);
    this.freeList = new Int32Array(n);
    for (let i = n - 1; i >= 0; i--) this.freeList[this.freeTop++] = i;
    this.valueBase = this.allocate(n * this.valueStride, "values").start;
    const nodes = this.allocate(8 + n * this.nodeStride, "nodes");
    this.rootAddr = nodes.start;
    this.nodeBase = nodes.start + 8;
    // The kernel's trie nodes are not program memory: an empty window keeps every
    // program access out (the bytes stay allocated for the records).
    this.space.setBounds(nodes, nodes.start, nodes.start);
    const v = this.space.view;
    for (let i = 0; i < n; i++) v.setUint32(this.recordAddr(i) + LPM_NODE_VALUE, this.valueAddr(i), true);
    this.stack = new Int32Array(this.maxPrefixlen + 1);
    this.writeHeader();
  }

  /** Where the node records are (see LpmLayout). */
  get lpmLayout(): LpmLayout {
    return { rootAddr: this.rootAddr, dataSize: this.dataSize, maxPrefixlen: this.maxPrefixlen };
  }

  private recordAddr(n: number): number {
    return this.nodeBase + n * this.nodeStride;
  }

  /** A link as the records hold it: the record's address, 0 for none. */
  private link(n: number): number {
    return n === NONE ? 0 : this.recordAddr(n);
  }

  private setChild0(n: number, v: number): void {
    this.child0[n] = v;
    this.space.view.setUint32(this.recordAddr(n) + LPM_NODE_CHILD0, this.link(v), true);
  }

  private setChild1(n: number, v: number): void {
    this.child1[n] = v;
    this.space.view.setUint32(this.recordAddr(n) + LPM_NODE_CHILD1, this.link(v), true);
  }

  private setPlen(n: number, p: number): void {
    this.plen[n] = p;
    this.space.view.setUint32(this.recordAddr(n) + LPM_NODE_PREFIXLEN, p, true);
  }

  private setIm(n: number, im: number): void {
    this.im[n] = im;
    this.space.view.setUint32(this.recordAddr(n) + LPM_NODE_FLAGS, im, true);
  }

  private setRoot(v: number): void {
    this.root = v;
    this.space.view.setUint32(this.rootAddr, this.link(v), true);
  }

  /** Number of prefixes stored. */
  get size(): number {
    return this.nEntries;
  }

  private dataAddr(n: number): number {
    return this.nodeBase + n * this.nodeStride + LPM_NODE_DATA;
  }

  private valueAddr(n: number): number {
    return this.valueBase + n * this.valueStride;
  }

  private static prefixlenOf(kb: Uint8Array, ko: number): number {
    return (kb[ko]! | (kb[ko + 1]! << 8) | (kb[ko + 2]! << 16) | (kb[ko + 3]! << 24)) >>> 0;
  }

  /** longest_prefix_match(): leading bits node and key (data at kb[kd..]) share, at most min of both prefixlens. */
  private match(n: number, kb: Uint8Array, kd: number, keyPlen: number): number {
    const limit = Math.min(this.plen[n]!, keyPlen);
    const u8 = this.space.u8;
    const d = this.dataAddr(n);
    let bits = 0;
    for (let i = 0; i < this.dataSize && bits < limit; i++) {
      const diff = u8[d + i]! ^ kb[kd + i]!;
      if (diff !== 0) return Math.min(limit, bits + Math.clz32(diff) - 24);
      bits += 8;
    }
    return Math.min(bits, limit);
  }

  private static bit(b: Uint8Array, d: number, index: number): number {
    return (b[d + (index >>> 3)]! >>> (7 - (index & 7))) & 1;
  }

  private child(n: number, bit: number): number {
    return bit === 0 ? this.child0[n]! : this.child1[n]!;
  }

  /** Writes a slot: the root (parent NONE) or a child pointer. */
  private setSlot(parent: number, bit: number, v: number): void {
    if (parent === NONE) this.setRoot(v);
    else if (bit === 0) this.setChild0(parent, v);
    else this.setChild1(parent, v);
  }

  private alloc(): number {
    if (this.freeTop === 0) return NONE;
    const n = this.freeList[--this.freeTop]!;
    this.setChild0(n, NONE);
    this.setChild1(n, NONE);
    this.setIm(n, 0);
    return n;
  }

  private freeNode(n: number): void {
    this.freeList[this.freeTop++] = n;
  }

  /** trie_lookup_elem(): the node with the longest matching prefix, or NONE. */
  private lookupNode(kb: Uint8Array, ko: number): number {
    const keyPlen = (kb[ko]! | (kb[ko + 1]! << 8) | (kb[ko + 2]! << 16) | (kb[ko + 3]! << 24)) >>> 0;
    const max = this.maxPrefixlen;
    if (keyPlen > max) return NONE;
    const kd = ko + 4;
    const u8 = this.env.space.u8;
    const plen = this.plen;
    const ds = this.dataSize;
    let found = NONE;
    for (let n = this.root; n !== NONE; ) {
      // longest_prefix_match(), inlined
      const np = plen[n]!;
      const limit = np < keyPlen ? np : keyPlen;
      const d = this.nodeBase + n * this.nodeStride + LPM_NODE_DATA;
      let m = 0;
      for (let i = 0; i < ds && m < limit; i++) {
        const diff = u8[d + i]! ^ kb[kd + i]!;
        if (diff !== 0) {
          m += Math.clz32(diff) - 24;
          break;
        }
        m += 8;
      }
      if (m > limit) m = limit;
      if (m === max) return n;
      if (m < np) break;
      if (!this.im[n]) found = n;
      n = ((kb[kd + (np >>> 3)]! >>> (7 - (np & 7))) & 1) === 0 ? this.child0[n]! : this.child1[n]!;
    }
    return found;
  }

  /** trie_check_add_elem(). */
  private checkAdd(flags: number): number {
    if (flags === BPF_EXIST) return -ENOENT;
    if (this.nEntries === this.maxEntries) return -ENOSPC;
    this.nEntries++;
    return 0;
  }

  /** trie_update_elem(). */
  private doUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    if (flags > BPF_EXIST) return -EINVAL;
    const keyPlen = LpmTrieMap.prefixlenOf(kb, ko);
    if (keyPlen > this.maxPrefixlen) return -EINVAL;
    const kd = ko + 4;
    const nn = this.alloc();
    if (nn === NONE) return -ENOMEM;
    const u8 = this.space.u8;
    this.setPlen(nn, keyPlen);
    u8.set(kb.subarray(kd, kd + this.dataSize), this.dataAddr(nn));
    u8.set(vb.subarray(vo, vo + this.valueSize), this.valueAddr(nn));

    let parent = NONE;
    let side = 0;
    let node = this.root;
    let m = 0;
    while (node !== NONE) {
      m = this.match(node, kb, kd, keyPlen);
      if (this.plen[node] !== m || this.plen[node] === keyPlen) break;
      parent = node;
      side = LpmTrieMap.bit(kb, kd, this.plen[node]!);
      node = this.child(node, side);
    }
    let err = 0;
    if (node === NONE) {
      err = this.checkAdd(flags);
      if (err === 0) this.setSlot(parent, side, nn);
    } else if (this.plen[node] === m) {
      // Same prefix: replace the node (a real one keeps the count, an intermediate one adds).
      if (!this.im[node]) err = flags === BPF_NOEXIST ? -EEXIST : 0;
      else err = this.checkAdd(flags);
      if (err === 0) {
        this.setChild0(nn, this.child0[node]!);
        this.setChild1(nn, this.child1[node]!);
        this.setSlot(parent, side, nn);
        this.freeNode(node);
      }
    } else {
      err = this.checkAdd(flags);
      if (err === 0) {
        if (m === keyPlen) {
          // The new prefix covers node: insert it above.
          if (LpmTrieMap.bit(u8, this.dataAddr(node), m) === 0) this.setChild0(nn, node);
          else this.setChild1(nn, node);
          this.setSlot(parent, side, nn);
        } else {
          const im = this.alloc();
          if (im === NONE) {
            this.nEntries--;
            err = -ENOMEM;
          } else {
            this.setPlen(im, m);
            this.setIm(im, 1);
            u8.copyWithin(this.dataAddr(im), this.dataAddr(node), this.dataAddr(node) + this.dataSize);
            if (LpmTrieMap.bit(kb, kd, m) === 1) {
              this.setChild0(im, node);
              this.setChild1(im, nn);
            } else {
              this.setChild0(im, nn);
              this.setChild1(im, node);
            }
            this.setSlot(parent, side, im);
          }
        }
      }
    }
    if (err !== 0) this.freeNode(nn);
    return err;
  }

  /** trie_delete_elem(). */
  private doDelete(kb: Uint8Array, ko: number): number {
    const keyPlen = LpmTrieMap.prefixlenOf(kb, ko);
    if (keyPlen > this.maxPrefixlen) return -EINVAL;
    const kd = ko + 4;
    // (parentOfSlot, sideOfSlot) names the slot holding node; (gp, gpSide) the slot holding parent.
    let slotParent = NONE;
    let slotSide = 0;
    let gp = NONE;
    let gpSide = 0;
    let parent = NONE;
    let node = this.root;
    let m = 0;
    while (node !== NONE) {
      m = this.match(node, kb, kd, keyPlen);
      if (this.plen[node] !== m || this.plen[node] === keyPlen) break;
      gp = slotParent;
      gpSide = slotSide;
      parent = node;
      slotParent = node;
      slotSide = LpmTrieMap.bit(kb, kd, this.plen[node]!);
      node = this.child(node, slotSide);
    }
    if (node === NONE || this.plen[node] !== keyPlen || this.plen[node] !== m || this.im[node]) return -ENOENT;
    this.nEntries--;
    const c0 = this.child0[node]!;
    const c1 = this.child1[node]!;
    if (c0 !== NONE && c1 !== NONE) {
      this.setIm(node, 1);
      return 0;
    }
    if (parent !== NONE && this.im[parent] && c0 === NONE && c1 === NONE) {
      // Drop the intermediate parent too and promote its other child.
      const other = this.child0[parent] === node ? this.child1[parent]! : this.child0[parent]!;
      this.setSlot(gp, gpSide, other);
      this.freeNode(parent);
      this.freeNode(node);
      return 0;
    }
    this.setSlot(slotParent, slotSide, c0 !== NONE ? c0 : c1);
    this.freeNode(node);
    return 0;
  }

  private leftmost(from: number): number {
    let next = NONE;
    for (let n = from; n !== NONE; ) {
      if (this.im[n]) {
        n = this.child0[n]!;
      } else {
        next = n;
        n = this.child0[n]!;
        if (n === NONE) n = this.child1[next]!;
      }
    }
    return next;
  }

  /** trie_get_next_key(): postorder successor; the leftmost node for none or an unknown key. */
  private nextNode(kb: Uint8Array | undefined, ko: number): number {
    if (this.root === NONE) return NONE;
    const keyPlen = kb === undefined ? 0 : LpmTrieMap.prefixlenOf(kb, ko);
    if (kb === undefined || keyPlen > this.maxPrefixlen) return this.leftmost(this.root);
    const kd = ko + 4;
    let sp = -1;
    let node = this.root;
    let m = 0;
    while (node !== NONE) {
      this.stack[++sp] = node;
      m = this.match(node, kb, kd, keyPlen);
      if (this.plen[node] !== m || this.plen[node] === keyPlen) break;
      node = this.child(node, LpmTrieMap.bit(kb, kd, this.plen[node]!));
    }
    if (node === NONE || this.plen[node] !== m || this.plen[node] !== keyPlen || this.im[node]) return this.leftmost(this.root);
    node = this.stack[sp]!;
    while (sp > 0) {
      const parent = this.stack[sp - 1]!;
      if (this.child0[parent] === node && this.child1[parent] !== NONE) return this.leftmost(this.child1[parent]!);
      if (!this.im[parent]) return parent;
      node = parent;
      sp--;
    }
    return NONE;
  }

  // ---- kernel side ----

  override lookupElem(keyAddr: number): number {
    const n = this.lookupNode(this.env.space.u8, keyAddr);
    return n === NONE ? 0 : this.valueAddr(n);
  }

  override updateElem(keyAddr: number, valueAddr: number, flags: number): number {
    return this.doUpdate(this.space.u8, keyAddr, this.space.u8, valueAddr, flags);
  }

  override deleteElem(keyAddr: number): number {
    return this.doDelete(this.space.u8, keyAddr);
  }

  // ---- user space ----

  protected sysLookup(kb: Uint8Array, ko: number, out: Uint8Array): number {
    const n = this.lookupNode(kb, ko);
    if (n === NONE) return -ENOENT;
    const a = this.valueAddr(n);
    out.set(this.space.u8.subarray(a, a + this.valueSize));
    return 0;
  }

  protected sysUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    return this.doUpdate(kb, ko, vb, vo, flags);
  }

  protected sysDelete(kb: Uint8Array, ko: number): number {
    return this.doDelete(kb, ko);
  }

  protected sysNextKey(kb: Uint8Array | undefined, ko: number, out: Uint8Array): number {
    const n = this.nextNode(kb, ko);
    if (n === NONE) return -ENOENT;
    const p = this.plen[n]!;
    out[0] = p & 0xff;
    out[1] = (p >>> 8) & 0xff;
    out[2] = (p >>> 16) & 0xff;
    out[3] = (p >>> 24) & 0xff;
    const d = this.dataAddr(n);
    out.set(this.space.u8.subarray(d, d + this.dataSize), 4);
    return 0;
  }

  protected override batchSupport() {
    return { lookup: true, lookupAndDelete: false, update: true, delete: true };
  }
}

/** Builds an LPM key: prefixlen (host order) then the data bytes. */
export function lpmKey(prefixlen: number, data: ArrayLike<number>, dataSize = data.length): Uint8Array {
  const k = new Uint8Array(4 + dataSize);
  new DataView(k.buffer).setUint32(0, prefixlen, true);
  for (let i = 0; i < Math.min(dataSize, data.length); i++) k[4 + i] = data[i]!;
  return k;
}

/** Parses "10.1.2.0/24" into an LPM key (4 data bytes). */
export function ipv4LpmKey(cidr: string): Uint8Array {
  const [addr, len] = cidr.split("/");
  const bytes = (addr ?? "").split(".").map((x) => Number(x));
  if (bytes.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) throw new RangeError(`bad IPv4 address in ${cidr}`);
  const plen = len === undefined ? 32 : Number(len);
  if (!Number.isInteger(plen) || plen < 0 || plen > 32) throw new RangeError(`bad prefix length in ${cidr}`);
  return lpmKey(plen, bytes);
}
