/**
 * The LRU that LRU_HASH and LRU_PERCPU_HASH evict with, after kernel/bpf/bpf_lru_list.c
 * (kernel >= 6.16, where the per-CPU free target is derived from the map size).
 *
 * It is not a strict LRU but the kernel's approximation, reproduced step by step so that
 * a full map evicts the same elements as the kernel does:
 *
 *  - nodes sit on an active, an inactive or a free list; a lookup from a program only
 *    sets the node's `ref` bit (user-space lookups do not);
 *  - common LRU (default): each CPU takes free nodes from a local free list, refilled
 *    from the global free list `target_free` nodes at a time, and parks the nodes it
 *    hands out on a local pending list until the next refill flushes them to the global
 *    active (ref set) or inactive list. A refill first rotates the lists (referenced
 *    nodes go back to the active list's head, the active tail drops to inactive) and,
 *    when the free list is short, shrinks the inactive tail, evicting elements. When
 *    all that fails it steals a free or pending node from any CPU's local lists;
 *  - per-CPU LRU (BPF_F_NO_COMMON_LRU): one active/inactive/free triple per CPU, each
 *    with max_entries / numCpus nodes, shrunk PERCPU_FREE_TARGET nodes at a time.
 *
 * Evicting calls back into the hash table (`delFromHtab`), which unlinks the element.
 * Lists are intrusive doubly linked lists in typed arrays: entries 0..n-1 are nodes,
 * the rest are list heads, as `struct list_head` sentinels.
 */

const LOCAL_FREE_TARGET = 128;
const LOCAL_NR_SCANS = LOCAL_FREE_TARGET;
const PERCPU_FREE_TARGET = 4;
const PERCPU_NR_SCANS = PERCPU_FREE_TARGET;

// enum bpf_lru_list_type
export const LRU_ACTIVE = 0;
export const LRU_INACTIVE = 1;
export const LRU_FREE = 2;
export const LRU_LOCAL_FREE = 3;
export const LRU_LOCAL_PENDING = 4;

/** struct bpf_lru_list: three list heads (active, inactive, free) and two counters. */
interface LruList {
  readonly head: number;
  readonly counts: [number, number];
  nextInactiveRotation: number;
}

/** struct bpf_lru_locallist: local free and pending heads. */
interface LocalList {
  readonly head: number;
  nextSteal: number;
}

export class BpfLru {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly type: Uint8Array;
  /** The ref bit a program's lookup sets (bpf_lru_node_set_ref()). */
  readonly ref: Uint8Array;
  /** CPU whose lists hold the node (per-CPU LRU) or whose pending list it is on. */
  readonly cpu: Uint16Array;
  private readonly lists: LruList[] = [];
  private readonly locals: LocalList[] = [];
  private readonly nrScans: number;
  private targetFree = 1;

  constructor(
    readonly nNodes: number,
    readonly percpu: boolean,
    readonly numCpus: number,
    private readonly delFromHtab: (node: number) => boolean,
  ) {
    const nHeads = percpu ? 3 * numCpus : 3 + 2 * numCpus;
    this.next = new Int32Array(nNodes + nHeads);
    this.prev = new Int32Array(nNodes + nHeads);
    this.type = new Uint8Array(nNodes);
    this.ref = new Uint8Array(nNodes);
    this.cpu = new Uint16Array(nNodes);
    for (let h = nNodes; h < nNodes + nHeads; h++) {
      this.next[h] = h;
      this.prev[h] = h;
    }
    const mkList = (head: number): LruList => ({ head, counts: [0, 0], nextInactiveRotation: head + LRU_INACTIVE });
    if (percpu) {
      for (let c = 0; c < numCpus; c++) this.lists.push(mkList(nNodes + 3 * c));
      this.nrScans = PERCPU_NR_SCANS;
    } else {
      this.lists.push(mkList(nNodes));
      for (let c = 0; c < numCpus; c++) this.locals.push({ head: nNodes + 3 + 2 * c, nextSteal: c });
      this.nrScans = LOCAL_NR_SCANS;
    }
    this.populate();
  }

  /** bpf_lru_populate(): every node starts free. */
  private populate(): void {
    if (!this.percpu) {
      const l = this.lists[0]!;
      for (let n = 0; n < this.nNodes; n++) {
        this.type[n] = LRU_FREE;
        this.ref[n] = 0;
        this.listAdd(n, l.head + LRU_FREE);
      }
      this.targetFree = Math.min(LOCAL_FREE_TARGET, Math.max(1, Math.floor(Math.floor(this.nNodes / this.numCpus) / 2)));
      return;
    }
    const per = Math.floor(this.nNodes / this.numCpus);
    let n = 0;
    for (let c = 0; c < this.numCpus && n < this.nNodes; c++) {
      do {
        this.cpu[n] = c;
        this.type[n] = LRU_FREE;
        this.ref[n] = 0;
        this.listAdd(n, this.lists[c]!.head + LRU_FREE);
        n++;
      } while (n < this.nNodes && n % per !== 0);
    }
  }

  // ---- list_head primitives ----

  private listAdd(n: number, head: number): void {
    const first = this.next[head]!;
    this.next[n] = first;
    this.prev[n] = head;
    this.prev[first] = n;
    this.next[head] = n;
  }

  private listDel(n: number): void {
    const p = this.prev[n]!;
    const nx = this.next[n]!;
    this.next[p] = nx;
    this.prev[nx] = p;
    this.next[n] = -1;
    this.prev[n] = -1;
  }

  private listMove(n: number, head: number): void {
    this.listDel(n);
    this.listAdd(n, head);
  }

  private empty(head: number): boolean {
    return this.next[head] === head;
  }

  // ---- node moves (__bpf_lru_node_move_to_free, _move_in, _move) ----

  private countDec(l: LruList, t: number): void {
    if (t < 2) l.counts[t as 0 | 1]--;
  }

  private countInc(l: LruList, t: number): void {
    if (t < 2) l.counts[t as 0 | 1]++;
  }

  private moveToFree(l: LruList, n: number, freeHead: number, tgtType: number): void {
    if (n === l.nextInactiveRotation) l.nextInactiveRotation = this.prev[n]!;
    this.countDec(l, this.type[n]!);
    this.type[n] = tgtType;
    this.listMove(n, freeHead);
  }

  private moveIn(l: LruList, n: number, tgtType: number): void {
    this.countInc(l, tgtType);
    this.type[n] = tgtType;
    this.ref[n] = 0;
    this.listMove(n, l.head + tgtType);
  }

  private move(l: LruList, n: number, tgtType: number): void {
    const t = this.type[n]!;
    if (t !== tgtType) {
      this.countDec(l, t);
      this.countInc(l, tgtType);
      this.type[n] = tgtType;
    }
    this.ref[n] = 0;
    if (n === l.nextInactiveRotation) l.nextInactiveRotation = this.prev[n]!;
    this.listMove(n, l.head + tgtType);
  }

  // ---- rotation and shrinking ----

  /** __bpf_lru_list_rotate_active(): from the tail, referenced nodes back to the head, others to inactive. */
  private rotateActive(l: LruList): void {
    const active = l.head + LRU_ACTIVE;
    const first = this.next[active]!;
    let i = 0;
    for (let n = this.prev[active]!; n !== active; ) {
      const tmp = this.prev[n]!;
      this.move(l, n, this.ref[n] ? LRU_ACTIVE : LRU_INACTIVE);
      if (++i === this.nrScans || n === first) break;
      n = tmp;
    }
  }

  /** __bpf_lru_list_rotate_inactive(): referenced inactive nodes go to the active list. */
  private rotateInactive(l: LruList): void {
    const inactive = l.head + LRU_INACTIVE;
    if (this.empty(inactive)) return;
    let last = this.next[l.nextInactiveRotation]!;
    if (last === inactive) last = this.next[last]!;
    let cur = l.nextInactiveRotation;
    let next = inactive;
    let i = 0;
    while (i < this.nrScans) {
      if (cur === inactive) {
        cur = this.prev[cur]!;
        continue;
      }
      next = this.prev[cur]!;
      if (this.ref[cur]) this.move(l, cur, LRU_ACTIVE);
      if (cur === last) break;
      cur = next;
      i++;
    }
    l.nextInactiveRotation = next;
  }

  /** __bpf_lru_list_shrink_inactive(): evicts unreferenced nodes from the inactive tail. */
  private shrinkInactive(l: LruList, tgt: number, freeHead: number, tgtType: number): number {
    const inactive = l.head + LRU_INACTIVE;
    let shrunk = 0;
    let i = 0;
    for (let n = this.prev[inactive]!; n !== inactive; ) {
      const tmp = this.prev[n]!;
      if (this.ref[n]) {
        this.move(l, n, LRU_ACTIVE);
      } else if (this.delFromHtab(n)) {
        this.moveToFree(l, n, freeHead, tgtType);
        if (++shrunk === tgt) break;
      }
      if (++i === this.nrScans) break;
      n = tmp;
    }
    return shrunk;
  }

  /** __bpf_lru_list_rotate(). */
  private rotate(l: LruList): void {
    if (l.counts[LRU_INACTIVE] < l.counts[LRU_ACTIVE]) this.rotateActive(l);
    this.rotateInactive(l);
  }

  /** __bpf_lru_list_shrink(): as shrinkInactive, else force-evict one node ignoring ref. */
  private shrink(l: LruList, tgt: number, freeHead: number, tgtType: number): number {
    const n = this.shrinkInactive(l, tgt, freeHead, tgtType);
    if (n > 0) return n;
    const force = this.empty(l.head + LRU_INACTIVE) ? l.head + LRU_ACTIVE : l.head + LRU_INACTIVE;
    for (let node = this.prev[force]!; node !== force; ) {
      const tmp = this.prev[node]!;
      if (this.delFromHtab(node)) {
        this.moveToFree(l, node, freeHead, tgtType);
        return 1;
      }
      node = tmp;
    }
    return 0;
  }

  // ---- common LRU ----

  /** __local_list_flush(): pending nodes join the global lists. */
  private localFlush(l: LruList, loc: LocalList): void {
    const pending = loc.head + 1;
    for (let n = this.prev[pending]!; n !== pending; ) {
      const tmp = this.prev[n]!;
      this.moveIn(l, n, this.ref[n] ? LRU_ACTIVE : LRU_INACTIVE);
      n = tmp;
    }
  }

  /** bpf_lru_list_pop_free_to_local(). */
  private popFreeToLocal(loc: LocalList): void {
    const l = this.lists[0]!;
    this.localFlush(l, loc);
    this.rotate(l);
    const free = l.head + LRU_FREE;
    let nfree = 0;
    for (let n = this.next[free]!; n !== free; ) {
      const tmp = this.next[n]!;
      this.moveToFree(l, n, loc.head, LRU_LOCAL_FREE);
      if (++nfree === this.targetFree) break;
      n = tmp;
    }
    if (nfree < this.targetFree) this.shrink(l, this.targetFree - nfree, loc.head, LRU_LOCAL_FREE);
  }

  private localPopFree(loc: LocalList): number {
    const n = this.next[loc.head]!;
    if (n === loc.head) return -1;
    this.listDel(n);
    return n;
  }

  private localPopPending(loc: LocalList): number {
    const pending = loc.head + 1;
    for (let force = 0; force < 2; force++) {
      for (let n = this.prev[pending]!; n !== pending; n = this.prev[n]!) {
        if ((!this.ref[n] || force) && this.delFromHtab(n)) {
          this.listDel(n);
          return n;
        }
      }
    }
    return -1;
  }

  private addPending(loc: LocalList, cpu: number, n: number): void {
    this.cpu[n] = cpu;
    this.type[n] = LRU_LOCAL_PENDING;
    this.ref[n] = 0;
    this.listAdd(n, loc.head + 1);
  }

  private commonPopFree(cpu: number): number {
    const loc = this.locals[cpu]!;
    let n = this.localPopFree(loc);
    if (n < 0) {
      this.popFreeToLocal(loc);
      n = this.localPopFree(loc);
    }
    if (n >= 0) {
      this.addPending(loc, cpu, n);
      return n;
    }
    // Steal from the local lists of every CPU, round robin from next_steal.
    const first = loc.nextSteal;
    let steal = first;
    do {
      const sl = this.locals[steal]!;
      n = this.localPopFree(sl);
      if (n < 0) n = this.localPopPending(sl);
      steal = (steal + 1) % this.numCpus;
    } while (n < 0 && steal !== first);
    loc.nextSteal = steal;
    if (n >= 0) this.addPending(loc, cpu, n);
    return n;
  }

  private percpuPopFree(cpu: number): number {
    const l = this.lists[cpu]!;
    this.rotate(l);
    const free = l.head + LRU_FREE;
    if (this.empty(free)) this.shrink(l, PERCPU_FREE_TARGET, free, LRU_FREE);
    if (this.empty(free)) return -1;
    const n = this.next[free]!;
    this.ref[n] = 0;
    this.move(l, n, LRU_INACTIVE);
    return n;
  }

  /** bpf_lru_pop_free(): a node for a new element on `cpu` (evicting if needed), or -1. */
  popFree(cpu: number): number {
    return this.percpu ? this.percpuPopFree(cpu) : this.commonPopFree(cpu);
  }

  /** bpf_lru_push_free(): the node's element was deleted. */
  pushFree(n: number): void {
    if (this.percpu) {
      this.move(this.lists[this.cpu[n]!]!, n, LRU_FREE);
      return;
    }
    const t = this.type[n]!;
    if (t === LRU_FREE || t === LRU_LOCAL_FREE) return;
    if (t === LRU_LOCAL_PENDING) {
      const loc = this.locals[this.cpu[n]!]!;
      this.type[n] = LRU_LOCAL_FREE;
      this.ref[n] = 0;
      this.listMove(n, loc.head);
      return;
    }
    this.move(this.lists[0]!, n, LRU_FREE);
  }

  /** The nodes of one list, head to tail (for tests and debugging). */
  listNodes(which: "active" | "inactive" | "free", cpu = 0): number[] {
    const l = this.lists[this.percpu ? cpu : 0]!;
    const head = l.head + (which === "active" ? LRU_ACTIVE : which === "inactive" ? LRU_INACTIVE : LRU_FREE);
    const out: number[] = [];
    for (let n = this.next[head]!; n !== head; n = this.next[n]!) out.push(n);
    return out;
  }
}
