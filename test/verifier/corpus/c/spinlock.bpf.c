// SPDX-License-Identifier: GPL-2.0
/* Verifier corpus (spinlock.data): bpf_spin_lock / bpf_spin_unlock. The lock
 * must live in a map value whose BTF type has a struct bpf_spin_lock; a
 * program holds at most one lock, calls no helper while holding it, releases it
 * on every path before exit, and never touches the lock field directly.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct locked {
	struct bpf_spin_lock lock;
	__u32 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct locked);
} locks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} plain SEC(".maps");

static __always_inline struct locked *get(__u32 key)
{
	return bpf_map_lookup_elem(&locks, &key);
}

SEC("tc")
int lock_ok(struct __sk_buff *skb)
{
	struct locked *v = get(0);

	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->count++;
	bpf_spin_unlock(&v->lock);
	return 0;
}

SEC("tc")
int lock_not_released(struct __sk_buff *skb)
{
	struct locked *v = get(0);

	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->count++;
	return 0;
}

SEC("tc")
int lock_released_on_one_path(struct __sk_buff *skb)
{
	struct locked *v = get(0);

	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	if (skb->len > 100)
		return 1;
	bpf_spin_unlock(&v->lock);
	return 0;
}

SEC("tc")
int unlock_without_lock(struct __sk_buff *skb)
{
	struct locked *v = get(0);

	if (!v)
		return 0;
	bpf_spin_unlock(&v->lock);
	return 0;
}

SEC("tc")
int helper_call_under_lock(struct __sk_buff *skb)
{
	struct locked *v = get(0);

	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->count = bpf_get_prandom_u32();
	bpf_spin_unlock(&v->lock);
	return 0;
}

SEC("tc")
int two_locks(struct __sk_buff *skb)
{
	struct locked *a = get(0), *b = get(1);

	if (!a || !b)
		return 0;
	bpf_spin_lock(&a->lock);
	bpf_spin_lock(&b->lock);
	bpf_spin_unlock(&b->lock);
	bpf_spin_unlock(&a->lock);
	return 0;
}

SEC("tc")
int read_lock_field(struct __sk_buff *skb)
{
	struct locked *v = get(0);

	if (!v)
		return 0;
	return *(volatile __u32 *)&v->lock;
}

SEC("tc")
int lock_without_btf_lock(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *p = bpf_map_lookup_elem(&plain, &key);

	if (!p)
		return 0;
	bpf_spin_lock((struct bpf_spin_lock *)p);
	bpf_spin_unlock((struct bpf_spin_lock *)p);
	return 0;
}

SEC("kprobe/do_nanosleep")
int lock_in_kprobe(void *ctx)
{
	struct locked *v = get(0);

	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->count++;
	bpf_spin_unlock(&v->lock);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
