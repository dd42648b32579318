// SPDX-License-Identifier: GPL-2.0
/* Verifier corpus (callbacks.data): bpf_loop and bpf_for_each_map_elem
 * callbacks. A callback is a static subprogram passed as PTR_TO_FUNC (which
 * needs BTF func_info); the verifier checks it with the callback's argument
 * types (PTR_TO_STACK of the caller for the context, PTR_TO_MAP_KEY and
 * PTR_TO_MAP_VALUE for map elements) and its return value against [0, 1].
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct loop_ctx {
	__u64 sum;
	__u64 last;
};

static int add_index(__u32 index, void *data)
{
	struct loop_ctx *c = data;

	c->sum += index;
	c->last = index;
	return 0;
}

SEC("xdp")
int loop_ok(struct xdp_md *xdp)
{
	struct loop_ctx c = {};

	bpf_loop(16, add_index, &c, 0);
	return c.sum > 100 ? XDP_PASS : XDP_DROP;
}

static int returns_two(__u32 index, void *data)
{
	return 2;
}

SEC("xdp")
int loop_bad_return(struct xdp_md *xdp)
{
	bpf_loop(4, returns_two, 0, 0);
	return XDP_PASS;
}

static int writes_past_ctx(__u32 index, void *data)
{
	/* data is the caller's 8-byte stack slot; 600 bytes on is outside any frame */
	((volatile __u64 *)data)[75] = index;
	return 0;
}

SEC("xdp")
int loop_ctx_oob(struct xdp_md *xdp)
{
	__u64 v = 0;

	bpf_loop(4, writes_past_ctx, &v, 0);
	return v ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int loop_no_callback(struct xdp_md *xdp)
{
	bpf_loop(4, (void *)0, 0, 0);
	return XDP_PASS;
}

static long sum_elem(void *map, __u32 *key, __u64 *val, struct loop_ctx *c)
{
	c->sum += *val + *key;
	return 0;
}

SEC("xdp")
int foreach_ok(struct xdp_md *xdp)
{
	struct loop_ctx c = {};

	bpf_for_each_map_elem(&counters, sum_elem, &c, 0);
	return c.sum ? XDP_PASS : XDP_DROP;
}

static long write_key(void *map, __u32 *key, __u64 *val, void *c)
{
	*(volatile __u32 *)key = 1;
	return 0;
}

SEC("xdp")
int foreach_write_key(struct xdp_md *xdp)
{
	bpf_for_each_map_elem(&counters, write_key, 0, 0);
	return XDP_PASS;
}

static long write_value(void *map, __u32 *key, __u64 *val, void *c)
{
	*val += 1;
	return 0;
}

SEC("xdp")
int foreach_write_value(struct xdp_md *xdp)
{
	bpf_for_each_map_elem(&counters, write_value, 0, 0);
	return XDP_PASS;
}

static long read_past_value(void *map, __u32 *key, __u64 *val, struct loop_ctx *c)
{
	c->sum += ((volatile __u64 *)val)[1];
	return 0;
}

SEC("xdp")
int foreach_value_oob(struct xdp_md *xdp)
{
	struct loop_ctx c = {};

	bpf_for_each_map_elem(&counters, read_past_value, &c, 0);
	return c.sum ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
