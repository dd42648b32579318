/**
 * Block graph -> instruction array, as libpcap's icode_to_fcode()/convert_code_r():
 * blocks are laid out from the end of the array backwards, each block after its false
 * successor's subtree and then its true successor's, so the layout (and hence every
 * listing) is libpcap's. A conditional branch can jump at most 255 instructions ahead;
 * a longer one is marked, and the layout is redone with a `ja` trampoline after the
 * branch (jt/jf 0 or 1 pointing at it).
 */
import * as C from "../constants.js";
import type { SockFilter } from "../constants.js";
import { FilterError } from "./errors.js";
import { Block, JF, JT, NOP, postorder, preorder, type Icode, type Slist } from "./ir.js";

const slength = (s: Slist | null): number => {
  let n = 0;
  for (; s !== null; s = s.next) if (s.s.code !== NOP) n++;
  return n;
};

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export function emitProgram(ic: Icode, expr: string): SockFilter[] {
  for (let attempt = 0; ; attempt++) {
    if (attempt > 100_000) throw new FilterError("too_complex", "the program's jumps cannot be laid out", expr, 0, expr.length);
    ic.curMark++;
    let n = 0;
    preorder(ic, ic.root, (p) => {
      n += slength(p.stmts) + 1 + p.longjt + p.longjf;
    });
    const out: Insn[] = Array.from({ length: n }, () => ({ code: 0, jt: 0, jf: 0, k: 0 }));
    let ftail = n;
    ic.curMark++;
    // A branch found too long is marked, and the layout redone. libpcap redoes it after
    // each one; marking all of a pass at once reaches the same set, since adding jumps
    // only lengthens branches.
    let retry = false;
    const convert = (p: Block): void => {
      const slen = slength(p.stmts);
      ftail -= slen + 1 + p.longjt + p.longjf;
      let dst = ftail;
      p.offset = dst;
      const offset: Slist[] = [];
      for (let src = p.stmts; offset.length < slen && src !== null; src = src.next) offset.push(src);
      let off = 0;
      for (let src = p.stmts; src !== null; src = src.next) {
        if (src.s.code === NOP) continue;
        const d = out[dst]!;
        d.code = src.s.code;
        d.k = src.s.k;
        // Block-local jumps (the protochain loop): targets are statements of this block.
        if (C.BPF_CLASS(src.s.code) === C.BPF_JMP && src.s.code !== (C.BPF_JMP | C.BPF_JA) && off !== slen - 2) {
          const where = `block-local relative jump: off=${off}`;
          if (src.s.jt === null || src.s.jf === null) throw new FilterError("too_complex", `no jmp destination for ${where}`, expr, 0, expr.length);
          let jt = 0;
          let jf = 0;
          for (let i = 0; i < slen; i++) {
            if (offset[i] === src.s.jt) {
              if (jt++ !== 0 || i - off - 1 >= 256) throw new FilterError("too_complex", `bad destination for ${where}`, expr, 0, expr.length);
              d.jt = i - off - 1;
            }
            if (offset[i] === src.s.jf) {
              if (jf++ !== 0 || i - off - 1 >= 256) throw new FilterError("too_complex", `bad destination for ${where}`, expr, 0, expr.length);
              d.jf = i - off - 1;
            }
          }
          if (jt === 0 || jf === 0) throw new FilterError("too_complex", `no destination found for ${where}`, expr, 0, expr.length);
        }
        dst++;
        off++;
      }
      const d = out[dst]!;
      d.code = p.s.code;
      d.k = p.s.k;
      const t = JT(p);
      if (t !== null) {
        let extra = 0;
        let o = t.offset - (p.offset + slen) - 1;
        if (o >= 256 && p.longjt === 0) {
          p.longjt++;
          retry = true;
        } else if (o >= 256) {
          d.jt = extra;
          extra++;
          out[dst + extra] = { code: C.BPF_JMP | C.BPF_JA, jt: 0, jf: 0, k: o - extra };
        } else d.jt = o;
        o = JF(p)!.offset - (p.offset + slen) - 1;
        if (o >= 256 && p.longjf === 0) {
          p.longjf++;
          retry = true;
        } else if (o >= 256) {
          d.jf = extra;
          extra++;
          out[dst + extra] = { code: C.BPF_JMP | C.BPF_JA, jt: 0, jf: 0, k: o - extra };
        } else d.jf = o;
      }
    };
    postorder(ic, ic.root, JF, JT, convert);
    if (!retry) return out.map((x) => ({ code: x.code, jt: x.jt, jf: x.jf, k: x.k >>> 0 }));
  }
}
