// SPDX-License-Identifier: GPL-2.0
/* Verifier corpus (subprogs.data): what BTF func_info makes possible. Global
 * (non-static) functions are verified once, on their own, from their BTF
 * prototype: a pointer argument may be NULL and must be checked, the return
 * value must be a scalar. Static subprograms that tail-call need BTF, and then
 * every frame's stack must stay within 256 bytes.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} jt SEC(".maps");

__noinline int global_len(struct __sk_buff *skb)
{
	return skb ? skb->len : 0;
}

SEC("tc")
int call_global_ok(struct __sk_buff *skb)
{
	return global_len(skb) > 64;
}

__noinline int global_deref_unchecked(int *p)
{
	return *p + 1;
}

SEC("tc")
int call_global_unchecked(struct __sk_buff *skb)
{
	int x = skb->len;

	return global_deref_unchecked(&x);
}

__noinline int global_deref_checked(int *p)
{
	return p ? *p + 1 : 0;
}

SEC("tc")
int call_global_checked(struct __sk_buff *skb)
{
	int x = skb->len;

	return global_deref_checked(&x);
}

static __noinline int tail_from_subprog(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jt, 0);
	return 0;
}

SEC("tc")
int tailcall_subprog_small_stack(struct __sk_buff *skb)
{
	volatile char buf[64];

	buf[skb->len & 63] = 1; /* a variable index keeps the whole array on the stack */
	return tail_from_subprog(skb) + buf[skb->mark & 63];
}

SEC("tc")
int tailcall_subprog_big_stack(struct __sk_buff *skb)
{
	volatile char buf[300];

	buf[skb->len & 255] = 1;
	return tail_from_subprog(skb) + buf[skb->mark & 255];
}

char LICENSE[] SEC("license") = "GPL";
