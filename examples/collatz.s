; examples/collatz.s — the bundled example that `npm start` assembles and runs.
; Finds the number below 1000 with the longest Collatz sequence, using a loop, a
; bpf-to-bpf call (the callee keeps its own 512-byte stack frame), the stack and
; 64-bit arithmetic. Expected: r0 = 871 (its sequence takes 178 steps).
;
;   r6 = best start, r7 = best length, r8 = candidate
	r6 = 1
	r7 = 0
	r8 = 1
next:
	r1 = r8
	call local steps          ; r0 = steps(r8); r6-r9 survive the call
	if r0 <= r7 goto skip
	r7 = r0
	r6 = r8
skip:
	r8 += 1
	if r8 < 1000 goto next
	*(u64 *)(r10 - 8) = r7    ; keep the best length on the stack for the trace
	r0 = r6
	exit

; steps(n): number of Collatz steps from n down to 1
steps:
	r0 = 0
loop:
	if r1 == 1 goto done
	r2 = r1
	r2 &= 1
	if r2 == 0 goto even
	r1 *= 3
	r1 += 1
	goto count
even:
	r1 >>= 1
count:
	r0 += 1
	goto loop
done:
	exit
